"""`trackbag play` driven from inside the room by LiveKit's SDK (`perform_rpc`), judged by an SDK
viewer that records every frame: pause holds every frame, step sends exactly the frames asked
for, rate 0.25 stretches the gaps ×4 and rate 4 shrinks them, seek goes on from the target
frame, a participant not named by --control-from is refused, and the replayer's attributes
follow its state. Prints the gap errors and the time from each call to its effect.

One run in a namespace made by `scripts/netns-run` (root), bounded in time.
"""
import json
import pathlib
import subprocess
import sys


from netns import NETNS_RUN, PEER_PYTHON, needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIVER = str(ROOT / "Tests" / "interop" / "play_rpc_driver.py")

pytestmark = needs_root


def test_play_driven_through_rpc(trackbag, tmp_path, capsys):
    completed = subprocess.run([NETNS_RUN, PEER_PYTHON, DRIVER, trackbag, str(tmp_path)],
                               capture_output=True, text=True, timeout=180)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-4000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    calls = result["calls"]
    with capsys.disabled():
        print("\n[play rpc] gaps: rate 1 %s, rate 0.25 %s, rate 4 %s, rate 1 after seek %s" % (
            result["rate1"], result["rate_quarter"], result["rate4"], result["rate1_after_seek"]))
        print("[play rpc] call ms: " + ", ".join(f"{k} {v['ms']}" for k, v in calls.items())
              + f"; resume→first frame {result['resume_to_first_frame_ms']} ms, "
              + f"seek→target frame {result['seek_to_target_ms']} ms")
    for label in ("status", "pause", "step5", "step_duration", "rate_quarter", "resume", "rate4", "seek", "rate1"):
        assert calls[label]["ok"], (label, calls[label], result["play_log"])
    assert calls["status"]["status"]["state"] == "playing"
    assert calls["pause"]["status"]["state"] == "paused"

    # Pause holds every frame: at most the frames already on their way (10 ms apart) while the
    # call travelled.
    assert len(result["held_during_pause"]) <= 2, result["held_during_pause"]
    position = result["last_before_pause"] + len(result["held_during_pause"])
    # Step 5 sends exactly the next 5 frames, then holds again.
    assert result["stepped5"] == list(range(position + 1, position + 6)), (position, result["stepped5"])
    # Step 100 ms: the next 10 frames (10 ms apart).
    assert result["stepped_duration"] == list(range(position + 6, position + 16)), result["stepped_duration"]

    # Rate 0.25 stretches the 10 ms gaps to 40 ms; rate 4 shrinks them to 2.5 ms.
    assert abs(result["rate_quarter"]["gap_p50_ms"] - 40) < 4, result["rate_quarter"]
    assert result["rate_quarter"]["frames"] >= 25, result["rate_quarter"]
    assert abs(result["rate1"]["gap_p50_ms"] - 10) < 2, result["rate1"]
    assert result["rate4"]["frames"] >= 100, result["rate4"]

    # Seek to 2 s: the next frame sent is frame 200 (user timestamp = index).
    # (At rate 4 frames are 2.5 ms apart: those sent while the call travelled arrive before it
    # is answered, give or take the two channels' order: none well after.)
    assert result["seek_target_position"] is not None, result["seek_frames"]
    stragglers = result["seek_stragglers_after_answer_ms"]
    assert stragglers is None or stragglers < 10, (result["seek_frames"], stragglers, result["calls"])
    assert result["seek_to_target_ms"] is not None and result["seek_to_target_ms"] < 200, result

    # Refusals: bad arguments, a step while playing, outside the session, a stranger.
    assert calls["bad_rate"]["error"][0] == 2400, calls["bad_rate"]
    assert calls["step_playing"]["error"][0] == 2409, calls["step_playing"]
    assert calls["seek_outside"]["error"][0] == 2409, calls["seek_outside"]
    assert result["stranger_pause"]["error"][0] == 2403, result["stranger_pause"]
    assert result["stranger_status"]["ok"], result["stranger_status"]
    assert result["final_status"]["status"]["seeks"] == 1

    # Attributes follow the state (published at most 4 times a second).
    states = [a[1] for a in result["attributes"]]
    assert "paused" in states and "playing" in states, result["attributes"]
    pause_seen = next(a[0] for a in result["attributes"] if a[1] == "paused")
    assert 0 <= pause_seen < 1.0, result["attributes"]
