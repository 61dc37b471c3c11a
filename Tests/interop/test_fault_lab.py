"""The fault lab (docs/fault-lab.md): LiveKit's official SDK (livekit 1.2.1) as the robot, our
fault relay between every peer and `trackbag serve`, `trackbag record` as the recorder, then
`trackbag play` → an SDK viewer, under loss, bursts, jitter with reordering, duplication, a
bandwidth cap, blackouts and a cut signal connection.

Each scenario runs `fault_lab_driver.py` inside `scripts/netns-run` (~15–30 s). What must hold in
every one:
- nothing crashes or hangs: every process ends on its own or on SIGINT, with status 0;
- every frame in the file is byte for byte a frame the robot pushed, once, and reached the
  server whole; in push order unless the link reordered datagrams (the channel is unordered);
- every frame that reached the server whole (its capture) is in the file, unless a loss on
  the way down (relay counters, the server's queue, what the server's SCTP still held when the
  recorder left) or a re-join of the recorder accounts for it;
- the file counts its own losses per track: pushed − in file = `missing` + `dropped` in
  `trackbag info --json`, give or take the frames before the first / after the last one
  recorded (which no receiver can count), so `info` shows each loss;
- reordering, loss or duplication alone never makes the recorder re-join;
- after a blackout or a cut signal connection, frames flow into the file again within
  RECOVERY_BOUND_S of its end, and still do in the last second of the run;
- the viewer's frames are frames of the file, byte for byte, once.

The table (scenario × pushed, reached server, in file, lost where, recovery) is printed at the
end of the session (`-s` shows it) and written to $TB_FAULT_TABLE when set.
"""
import json
import os
import pathlib
import subprocess

import pytest

from netns import NETNS_RUN, PEER_PYTHON, needs_root


ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIVER = str(ROOT / "Tests" / "interop" / "fault_lab_driver.py")
# Frames flow again this soon after an outage ends (measured: see docs/fault-lab.md).
# SCTP's retransmission timer backs off during a blackout (RFC 4960 §6.3.3, from 200 ms,
# doubling), so the first frame after one waits for the next expiry on each side.
RECOVERY_BOUND_S = {"blackout_3s": 5.0, "blackout_10s": 15.0, "signal_cut_5s": 3.0}

pytestmark = needs_root

SCENARIOS = ["loss_1pct", "loss_5pct", "loss_20pct", "bursty_2pct", "jitter_30ms", "jitter_20ms", "duplicate_1pct",
             "cap_2mbit", "blackout_3s", "blackout_10s", "signal_cut_5s"]
ROWS = []


def run(trackbag, tmp_path, scenario, timeout=180):
    completed = subprocess.run([NETNS_RUN, PEER_PYTHON, DRIVER, trackbag, str(tmp_path), scenario],
                               capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def frames_per_datagram(size):
    """The most frames of `size` bytes one datagram can carry: our SCTP packets are at most 1200 −
    37 (DTLS record overhead) − 12 (common header) bytes of chunks (SCTPAssociation), and each
    frame of a single-packet track is one DATA chunk of 16 bytes of header plus a data-track
    packet of at least 12 bytes of header and its payload, padded to 4 (RFC 9260 §3.3.1)."""
    chunk = 16 + 12 + size
    chunk += -chunk % 4
    return max(1, (1200 - 37 - 12) // chunk)


def server_queue_losses(result):
    """Packets the server dropped from the recorder's queue or still held in it when the
    recorder left (its SCTP window closed by losses), over every session of the recorder."""
    return sum(s["dropped"] + s["unsent"] for s in result["server_sessions"] if s["identity"] == "trackbag-recorder")


def server_sctp_held(result):
    """Packets the server's queue had handed to SCTP for the recorder that were still inside
    it when the recorder left: never sent, or sent and not acknowledged (they may have been
    lost on the link too), over every session of the recorder."""
    return sum(s["sctp_unsent"] + s["sctp_in_flight"] for s in result["server_sessions"]
               if s["identity"] == "trackbag-recorder")


def lost_where(result):
    """Frames pushed but not in the file, by place. Before the server: the uplink lost at most
    as many frames as the relay dropped datagrams on the way up (a lost frame costs at least
    one), the rest never left the SDK (its drop-oldest sender, docs/losses.md; it logs
    nothing). After the server: its queue (its own count, in packets), what its SCTP still
    held when the recorder left, the downlink (at most the frames the relay's dropped
    datagrams could carry), and, only if the recorder re-joined, the re-join. What none of
    these can hold is `unattributed`, and must be 0."""
    relay = result["record"]["relay"]
    tracks = result["tracks"]
    up = sum(t["pushed"] - t["reached_server"] for t in tracks.values())
    link_up = min(up, relay["up"]["dropped_total"])
    down = sum(t["at_server_not_in_file"] for t in tracks.values())
    server_q = min(down, server_queue_losses(result))
    server_sctp = min(down - server_q, server_sctp_held(result))
    sizes = result["record"]["sizes"]
    link_bound = relay["down"]["dropped_total"] * max(frames_per_datagram(sizes[name]) for name in tracks)
    downlink = min(down - server_q - server_sctp, link_bound)
    reconnects = (result["record"]["summary"] or {}).get("reconnects", 0)
    rejoin = down - server_q - server_sctp - downlink if reconnects else 0
    return {"sender": up - link_up, "uplink": link_up, "server queue": server_q, "server sctp": server_sctp,
            "downlink": downlink, "re-join": rejoin,
            "unattributed": down - server_q - server_sctp - downlink - rejoin,
            "relay_up_dgrams": relay["up"]["dropped_total"], "relay_down_dgrams": relay["down"]["dropped_total"]}


def table_row(result):
    tracks = result["tracks"].values()
    where = lost_where(result)
    recovery = [t["recovery_s"] for t in tracks if t["recovery_s"] is not None]
    play = result.get("play", {}).get("tracks", {})
    return {"scenario": result["scenario"],
            "pushed": sum(t["pushed"] for t in tracks),
            "reached server": sum(t["reached_server"] for t in tracks),
            "reached recorder": result["record"]["summary"]["received"] if result["record"]["summary"] else None,
            "in file": sum(t["in_file"] for t in tracks),
            "file missing+dropped": sum(t["file_missing"] + t["file_dropped"] for t in tracks),
            "lost where": where,
            "recovery s": max(recovery) if recovery else None,
            "replayed to viewer": sum(v["viewer"] for v in play.values()) if play else None,
            "recorder reconnects": result["record"]["summary"]["reconnects"] if result["record"]["summary"] else None,
            "out of order in file": sum(t["file_out_of_order"] for t in tracks)}


def format_table(rows):
    head = ["scenario", "pushed", "reached server", "reached recorder", "in file", "counted in file",
            "lost: sender / uplink / server queue / server SCTP / downlink / re-join", "relay drops up/down (datagrams)", "recovery s",
            "replayed to viewer", "recorder reconnects"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        w = r["lost where"]
        lines.append(" | ".join(str(x) for x in (
            r["scenario"], r["pushed"], r["reached server"], r["reached recorder"], r["in file"], r["file missing+dropped"],
            f'{w["sender"]} / {w["uplink"]} / {w["server queue"]} / {w["server sctp"]} / {w["downlink"]} / {w["re-join"]}',
            f'{w["relay_up_dgrams"]} / {w["relay_down_dgrams"]}',
            r["recovery s"], r["replayed to viewer"], r["recorder reconnects"])))
    return "\n".join(lines)


@pytest.fixture(scope="module", autouse=True)
def table():
    yield
    if ROWS:
        text = format_table(ROWS)
        print("\nfault lab:\n" + text)
        if os.environ.get("TB_FAULT_TABLE"):
            with open(os.environ["TB_FAULT_TABLE"], "a") as f:
                f.write(text + "\n" + "\n".join(json.dumps(r) for r in ROWS) + "\n")


def check(result):
    name = result["scenario"]
    rec = result["record"]
    diag = {k: rec.get(k) for k in ("record_stderr", "robot_events", "relay", "summary", "push_failures")}
    # No crash, no hang.
    assert rec["record_exit"] == 0, diag
    assert result["server_exit"] == 0, result["server_log_tail"]
    summary = rec["summary"]
    assert summary is not None, rec["record_stdout"]
    # What reached the recorder whole went into the file, all of it.
    assert summary["wrote"] == summary["received"] and summary["dropped_pipeline"] == 0, summary
    assert rec["capture_genuine"], "a frame the server reassembled differs from what the robot pushed"
    relay = rec["relay"]
    server_losses = server_queue_losses(result) + server_sctp_held(result)
    # Every frame that reached the server whole and is not in the file has its place.
    assert lost_where(result)["unattributed"] == 0, (name, lost_where(result), diag)
    for track, t in result["tracks"].items():
        where = (name, track, t, diag)
        # (A 20 kB frame crosses the lossy link twice in ~28 datagrams: at 20 % loss none may.)
        assert t["in_file"] > 0 or track == "camera", where
        # Byte-exact, no duplicate, in push order, each one the robot pushed.
        assert t["file_genuine"] and t["file_user_ts_matches"], where
        assert t["file_duplicates"] == 0 and t["file_not_pushed"] == 0, where
        # In push order, unless the link reordered or lost datagrams: the channel is unordered
        # (docs/WIRE.md), so frames are recorded in the order they complete.
        disorder = relay["up"]["reordered"] + relay["down"]["reordered"] + relay["up"]["dropped_total"] + relay["down"]["dropped_total"]
        assert t["file_out_of_order"] <= disorder, where
        assert t["file_not_at_server"] == 0, where
        # Reached the server whole but not the file: only with losses on the way down, or
        # while the recorder re-joined (trackbag's client re-joins in full on any signal or
        # transport loss; it has no session resume): then at most a second's worth.
        # A datagram lost on the way down may carry several frames: SCTP bundles small DATA
        # chunks into one packet up to the path MTU (RFC 9260 §6.10), so the relay's count of
        # datagrams bounds frames only through the most frames one packet can hold.
        down_losses = relay["down"]["dropped_total"] * frames_per_datagram(rec["sizes"][track]) + server_losses
        if summary["reconnects"] > 0:
            assert t["at_server_not_in_file"] <= down_losses + result["record"]["rates"][track] * summary["reconnects"], where
        elif down_losses == 0:
            assert t["at_server_not_in_file"] == 0, where
        else:
            assert t["at_server_not_in_file"] <= down_losses, where
        # The file counts what it lacks: gap events for skipped frame numbers, drop events for
        # incomplete frames (also before the first whole frame or after the last). Only frames
        # outside the recorded span that left no packet at the recorder go uncounted.
        counted = t["in_file"] + t["file_missing"] + t["file_dropped"]
        # A push the SDK refused may still have used a frame number (then the file counts it).
        # Known: after the SDK robot itself re-joins (its signal cut), the file's counts are off
        # across the re-join (docs/fault-lab.md, "Left"); not checked then.
        robot_rejoined = any(event == "reconnected" for _, event in rec["robot_events"])
        if not robot_rejoined:
            assert counted <= t["pushed"] + t["push_failures"], (f"the file counts {counted - t['pushed']} frames too many", where)
            assert t["pushed"] - counted <= t["edge_unseen"], (f"{t['pushed'] - counted} frames lost without a trace in the file", where)
        # Frames flow again after an outage, within the bound, until the end.
        if name in RECOVERY_BOUND_S:
            # Plus one frame period: the first frame after the end may be up to that late.
            bound = RECOVERY_BOUND_S[name] + 1.0 / result["record"]["rates"][track]
            assert t["recovery_s"] is not None, where
            if robot_rejoined:
                # The SDK robot's own re-join takes what its back-off takes: the recorder is
                # judged from when the robot's frames reached the server again.
                assert t["server_recovery_s"] is not None, where
                assert t["recovery_s"] - t["server_recovery_s"] <= bound, where
            else:
                assert t["recovery_s"] <= bound, where
            if track == "imu":
                assert t["last_second_in_file"] > 0, where
    # Reordering alone must not cost the recorder its session (usrsctp aborted reordered
    # unordered fragmented messages; SCTPArrivalOrder): no re-join without an outage.
    if name not in RECOVERY_BOUND_S:
        assert summary["reconnects"] == 0, diag
    # Every datagram between the peers and the server crossed the relay: the robot's uplink
    # carried the frames (≥ one datagram per imu frame).
    assert relay["up"]["forwarded"] >= result["tracks"]["imu"]["reached_server"], relay
    play = result.get("play")
    if play:
        assert play["play_exit"] == 0, play["play_stderr"]
        for track, v in play["tracks"].items():
            assert v["viewer_genuine"] and v["viewer_subset_of_file"], (track, v, play)
            disorder = sum(play["relay"][d]["reordered"] + play["relay"][d]["dropped_total"] for d in ("up", "down"))
            assert v["viewer_in_order"] or disorder > 0, (track, v)  # in the file's order
            assert v["viewer_duplicates"] == 0, (track, v)
            # Without any loss on the way, the viewer gets every frame, or the SDK says which
            # it dropped. The way is both directions: `trackbag play` is a peer behind the
            # relay too, so its frames go up to the server before they come down to the viewer
            # (a 2 Mbit/s cap's queue dropping one of play's packets on the way up is link
            # loss, counted by the relay).
            # (The SDK's depacketizer also drops frames that arrive reordered, silently.)
            lossless = all(play["relay"][d]["dropped_total"] == 0 for d in ("up", "down"))
            if lossless and play["relay"]["down"]["reordered"] == 0 and name not in RECOVERY_BOUND_S:
                lacking = v["in_file"] - v["viewer"]
                assert lacking <= sum(play["sdk_viewer_logged"].values()), (track, v, play)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_fault_scenario(trackbag, tmp_path, scenario):
    result = run(trackbag, tmp_path, scenario)
    ROWS.append(table_row(result))
    print(json.dumps(table_row(result)))
    for track, t in result["tracks"].items():
        print(track, json.dumps(t))
    check(result)
