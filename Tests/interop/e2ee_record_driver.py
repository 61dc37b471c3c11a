"""Record an E2EE room without its key and replay the ciphertext, run INSIDE
scripts/netns-run with LiveKit's official SDK (livekit==1.2.1, this process) as robot and viewers.
Prints one JSON line with what was observed; test_e2ee_record.py judges.

usage: e2ee_record_driver.py TRACKBAG WORKDIR

1. `trackbag serve --capture-data-tracks FILE`; an SDK publisher `robot` with E2EE (shared key)
   publishes `imu` (200 Hz, 64 B) and `camera` (5 Hz, 20,000 B) with user timestamps;
   `trackbag record` joins with NO key (passthrough) and records them.
2. `trackbag info`, `trackbag export` without a key (ciphertext, marked), with the right key
   (the plaintext) and with a wrong key (dropped and counted, exit 2).
3. `trackbag play` (no key) replays into room `replay`: an SDK viewer with the key must get the
   original plaintext and timestamps; a Swift viewer with a wrong key gets nothing and counts
   the authentication failures.
"""
import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time

from livekit import rtc

from live_room import STEP, in_order_subset, read_every_track, read_lines, start_server, stop, testpeer, token, wait_finished

TRACKBAG = sys.argv[1]
WORKDIR = sys.argv[2]
os.makedirs(WORKDIR, exist_ok=True)
ADDR = os.environ.get("TB_ADDR_A", "10.99.0.1")
KEY = "spike-shared-key"
WRONG_KEY = "not-the-room-key"
SECONDS = 2.0
TRACKS = {
    "imu": (200, lambda i: b"IMU-PLAINTEXT-%08d-" % i + bytes((i + k) & 0xFF for k in range(64 - 23))),
    "camera": (5, lambda i: b"CAMERA-PLAINTEXT-%04d-" % i + bytes(((i * 7 + k) & 0xFF) for k in range(20_000 - 22))),
}


def e2ee_options(key):
    options = rtc.RoomOptions()
    options.encryption = rtc.E2EEOptions(key_provider_options=rtc.KeyProviderOptions(shared_key=key.encode()))
    return options


async def push_paced(local, rate, make, sent):
    start = time.monotonic()
    for i in range(int(rate * SECONDS)):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        payload, ts = make(i), 1_000_000 + i * (1_000_000 // rate)
        for _ in range(200):
            try:
                local.try_push(rtc.DataTrackFrame(payload=payload, user_timestamp=ts))
                sent.append((payload, ts))
                break
            except Exception:
                await asyncio.sleep(0.002)


CONTROL = b"CONTROL-PLAINTEXT-"


async def control_phase(url):
    """A plaintext publisher in another room, so the capture check is shown able to see plaintext."""
    room = rtc.Room()
    await asyncio.wait_for(room.connect(url, token("control", "control")), STEP)
    local = await asyncio.wait_for(room.local_participant.publish_data_track(name="ctl"), STEP)
    for i in range(20):
        try:
            local.try_push(rtc.DataTrackFrame(payload=CONTROL + b"%d" % i))
        except Exception:
            pass
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    await room.disconnect()


async def record_phase(url, out):
    robot = rtc.Room()
    await asyncio.wait_for(robot.connect(url, token("robot", "live"), e2ee_options(KEY)), STEP)
    locals_ = {name: await asyncio.wait_for(robot.local_participant.publish_data_track(name=name), STEP) for name in TRACKS}
    # Two recorders: passthrough (no key) and decrypt (with the key, `--e2ee-key`).
    recorder = await asyncio.create_subprocess_exec(
        TRACKBAG, "record", "--url", url, "--room", "live", "--out", out,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    decrypting = await asyncio.create_subprocess_exec(
        TRACKBAG, "record", "--url", url, "--room", "live", "--out", out + ".decrypted.tbag", "--identity", "decrypting-recorder",
        "--e2ee-key", KEY, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    rec_out, rec_err, dec_out, dec_err = [], [], [], []
    readers = [asyncio.ensure_future(read_lines(recorder.stdout, rec_out)),
               asyncio.ensure_future(read_lines(recorder.stderr, rec_err)),
               asyncio.ensure_future(read_lines(decrypting.stdout, dec_out)),
               asyncio.ensure_future(read_lines(decrypting.stderr, dec_err))]
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline and (sum("recording robot/" in l for l in rec_err) < len(TRACKS)
                                           or sum("recording robot/" in l for l in dec_err) < len(TRACKS)):
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)
    sent = {name: [] for name in TRACKS}
    await asyncio.gather(*(push_paced(locals_[n], rate, make, sent[n]) for n, (rate, make) in TRACKS.items()))
    await asyncio.sleep(1.0)
    status = []
    for proc in (recorder, decrypting):
        proc.send_signal(signal.SIGINT)
        try:
            status.append(await asyncio.wait_for(proc.wait(), STEP))
        except asyncio.TimeoutError:
            proc.kill()
            status.append("killed")
    await asyncio.gather(*readers, return_exceptions=True)
    await robot.disconnect()
    return sent, status, rec_out + dec_out, rec_err[-5:] + dec_err[-5:]


def run_cli(*args):
    done = subprocess.run([TRACKBAG, *args], capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def read_jsonl(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    return rows


async def play_phase(url, path):
    viewer = rtc.Room()
    received = {}
    readers = read_every_track(
        viewer, lambda track, frame: received.setdefault(track.info.name, []).append((bytes(frame.payload), frame.user_timestamp)))
    await asyncio.wait_for(viewer.connect(url, token("viewer", "replay"), e2ee_options(KEY)), STEP)
    # A Swift viewer holding the wrong key: nothing may be delivered, the failures are counted.
    swift = await asyncio.create_subprocess_exec(
        testpeer(TRACKBAG), "room-peer", "--url", url, "--token", token("wrongkey", "replay"), "--e2ee-key", WRONG_KEY,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, limit=1 << 24)
    swift_lines = []
    swift_reader = asyncio.ensure_future(read_lines(swift.stdout, swift_lines))
    for name in TRACKS:
        swift.stdin.write((json.dumps({"cmd": "subscribe", "identity": "robot", "track": name, "buffer": 1024,
                                       "timeout": 60}) + "\n").encode())
    player = await asyncio.create_subprocess_exec(
        TRACKBAG, "play", path, "--url", url, "--room", "replay", "--wait-for-subscribers", "2",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    play_out, play_err = [], []
    play_readers = asyncio.gather(read_lines(player.stdout, play_out), read_lines(player.stderr, play_err))
    await wait_finished(player, play_readers, play_err, "trackbag play")
    await asyncio.sleep(1.0)
    swift.stdin.write(b'{"cmd":"stats"}\n')
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any('"reply":"stats"' in l.replace(" ", "") for l in swift_lines):
        await asyncio.sleep(0.05)
    swift.stdin.write(b'{"cmd":"quit"}\n')
    try:
        await asyncio.wait_for(swift.wait(), 10)
    except asyncio.TimeoutError:
        swift.kill()
        await swift.wait()
    await asyncio.gather(swift_reader, return_exceptions=True)
    for r in readers:
        r.cancel()
    await viewer.disconnect()
    messages = [json.loads(l) for l in swift_lines if l.startswith("{")]
    stats = next((m for m in messages if m.get("reply") == "stats"), {})
    swift_frames = sum(1 for m in messages if m.get("event") == "frame")
    return received, player.returncode, play_out, play_err, stats, swift_frames


async def single_viewer_phase(url, path, room, viewer_key, *play_args):
    """One SDK viewer holding `viewer_key`, alone in `room`, while `trackbag play PATH
    PLAY_ARGS…` replays the first second into it. Returns (the frames it got, what play said it
    sent). Alone because a wrong-key viewer's decryption failures cost the SDK enough that a
    viewer beside it loses frames."""
    viewer = rtc.Room()
    got = []
    readers = read_every_track(viewer, lambda track, frame: got.append((track.info.name, bytes(frame.payload), frame.user_timestamp)))
    await asyncio.wait_for(viewer.connect(url, token("single", room), e2ee_options(viewer_key)), STEP)
    player = await asyncio.create_subprocess_exec(
        TRACKBAG, "play", path, "--url", url, "--room", room, "--wait-for-subscribers", "1", "--end", "1s", *play_args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(player.communicate(), 60)
    await asyncio.sleep(1.0)
    for r in readers:
        r.cancel()
    await viewer.disconnect()
    sent = next((l for l in out.decode().splitlines() if l.startswith("frames sent")), "")
    return got, sent


async def main():
    capture = os.path.join(WORKDIR, "server-capture.bin")
    path = os.path.join(WORKDIR, "e2ee.tbag")
    server, url = start_server(TRACKBAG, WORKDIR, ADDR, "--capture-data-tracks", capture)
    try:
        await control_phase(url)
        sent, rec_status, rec_out, rec_err = await record_phase(url, path)
        info = run_cli("info", path, "--json")
        decrypted_info = run_cli("info", path + ".decrypted.tbag", "--json")
        decrypted_export = run_cli("export", path + ".decrypted.tbag", "--format", "jsonl", "--out", path + ".decrypted.jsonl")
        plain_export = run_cli("export", path, "--format", "jsonl", "--out", path + ".cipher.jsonl")
        key_export = run_cli("export", path, "--format", "jsonl", "--out", path + ".plain.jsonl", "--key", KEY)
        wrong_export = run_cli("export", path, "--format", "jsonl", "--out", path + ".wrong.jsonl", "--key", WRONG_KEY)
        received, play_status, play_out, play_err, swift_stats, swift_frames = await play_phase(url, path)
        # Ciphertext replayed to an SDK viewer with a wrong key: nothing.
        sdk_wrong, sdk_wrong_sent = await single_viewer_phase(url, path, "wrongkey", WRONG_KEY)
        # A plaintext recording (decrypt mode) replayed into an E2EE room: `play --e2ee-key`
        # encrypts, the SDK viewer with the key decrypts.
        reencrypted, reencrypted_sent = await single_viewer_phase(url, path + ".decrypted.tbag", "reencrypt", KEY,
                                                                  "--e2ee-key", KEY)
    finally:
        server_exit = stop(server)
    with open(capture, "rb") as f:
        captured = f.read()
    # The server saw only ciphertext: no plaintext marker of any frame appears in what it received.
    markers = [b"IMU-PLAINTEXT-", b"CAMERA-PLAINTEXT-"]
    result = {
        "server_exit": server_exit, "record_exit": rec_status,
        "decrypted_info": json.loads(decrypted_info[1]) if decrypted_info[0] == 0 else decrypted_info[2],
        "decrypted_export_exit": decrypted_export[0], "record_stdout": rec_out, "record_stderr": rec_err[-10:],
        "info_exit": info[0], "info": json.loads(info[1]) if info[0] == 0 else info[2],
        "export_plain": {"exit": plain_export[0], "stderr": plain_export[2]},
        "export_key": {"exit": key_export[0], "stderr": key_export[2]},
        "export_wrong": {"exit": wrong_export[0], "stderr": wrong_export[2],
                         "rows": len(read_jsonl(path + ".wrong.jsonl"))},
        "play_exit": play_status, "play_stdout": play_out, "play_stderr": play_err[-10:],
        "swift_wrong_key": {"frames": swift_frames, "stats": swift_stats},
        "sdk_wrong_key_frames": len(sdk_wrong), "sdk_wrong_key_play": sdk_wrong_sent,
        "reencrypted_play": reencrypted_sent,
        "capture_bytes": len(captured), "capture_plaintext_hits": sum(captured.count(m) for m in markers),
        "capture_control_hits": captured.count(CONTROL),
        "tracks": {},
    }
    def file_lost(info, name):
        """Frames the file itself counts lost on the track (gap and drop events)."""
        tracks = info.get("tracks", []) if isinstance(info, dict) else []
        return sum(t["missing_frames"] + t["dropped_frames"] for t in tracks if t["name"] == name)

    def unaccounted(want, have, lost):
        """Frames sent between the first and the last recorded one that are neither in the file
        nor counted by it; frames sent before the first or after the last leave no number a
        receiver could count."""
        position = {w: i for i, w in enumerate(want)}
        idx = {position[h] for h in have if h in position}
        if not idx:
            return len(want)
        return max(0, (max(idx) - min(idx) + 1) - len(idx) - lost)

    cipher_rows = read_jsonl(path + ".cipher.jsonl")
    plain_rows = read_jsonl(path + ".plain.jsonl")
    decrypted_rows = read_jsonl(path + ".decrypted.jsonl")
    for name in TRACKS:
        want = sent[name]
        cipher = [r for r in cipher_rows if r["track"] == name]
        plain = [(base64.b64decode(r["payload_b64"]), r["user_timestamp"]) for r in plain_rows if r["track"] == name]
        got = received.get(name, [])
        decrypted = [(base64.b64decode(r["payload_b64"]), r["user_timestamp"]) for r in decrypted_rows if r["track"] == name]
        result["tracks"][name] = {
            "sent": len(want), "recorded": len(cipher),
            "cipher_marked": all(r.get("encryption") == "gcm" and "key_index" in r and "iv_b64" in r for r in cipher),
            "cipher_has_plaintext": any(any(m in base64.b64decode(r["payload_b64"]) for m in markers) for r in cipher),
            "cipher_length_is_plaintext_plus_tag": all(len(base64.b64decode(r["payload_b64"])) == len(p) + 16
                                                       for r, (p, _) in zip(cipher, plain)),
            # The SDK publisher's own queue may lose a frame before the server (its one-frame drop-oldest send queue):
            # what was recorded is the sent frames, in order, byte for byte.
            "exported_plaintext_in_order_subset_of_sent": in_order_subset(plain, want) and len(plain) == len(cipher),
            "decrypt_mode_recorded": len(decrypted),
            "unaccounted": unaccounted(want, plain, file_lost(result["info"], name)),
            "decrypt_mode_unaccounted": unaccounted(want, decrypted, file_lost(result["decrypted_info"], name)),
            "reencrypted_received": sum(1 for n, _, _ in reencrypted if n == name),
            "reencrypted_in_order_subset_of_decrypted": in_order_subset([(p, t) for n, p, t in reencrypted if n == name], decrypted),
            "decrypt_mode_in_order_subset_of_sent": in_order_subset(decrypted, want),
            "decrypt_mode_unmarked": all("encryption" not in r for r in decrypted_rows),
            "replayed": len(got), "replayed_equals_recorded": got == plain,
            "replayed_in_order_subset": all(x in plain for x in got) and got == sorted(got, key=plain.index),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    from live_room import run_then_exit
    run_then_exit(main())
