"""Recording an end-to-end encrypted room without its key, and replaying the ciphertext,
judged by LiveKit's official SDK (livekit 1.2.1) with `E2EEOptions(shared_key)`.

`e2ee_record_driver.py` runs inside `scripts/netns-run`: an SDK robot publishes two encrypted
tracks; `trackbag record` (no key: passthrough) records them; `trackbag export` shows them as
marked ciphertext, decrypts them with `--key`, refuses a wrong key; `trackbag play` (no key)
replays them into another room where an SDK viewer holding the key receives the original
plaintext and timestamps, and a Swift viewer with a wrong key receives nothing. The server's
own capture of every data-track packet it received holds no plaintext.
"""
import json
import pathlib
import subprocess


from netns import NETNS_RUN, PEER_PYTHON, needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIVER = str(ROOT / "Tests" / "interop" / "e2ee_record_driver.py")

pytestmark = needs_root


def run(trackbag, tmp_path):
    completed = subprocess.run([NETNS_RUN, PEER_PYTHON, DRIVER, trackbag, str(tmp_path)],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    print(json.dumps({k: v for k, v in result.items() if k != "tracks"}, indent=1))
    for name, track in result["tracks"].items():
        print(name, json.dumps(track))
    return result


def test_record_without_key_then_replay_ciphertext_to_sdk_with_key(trackbag, tmp_path):
    result = run(trackbag, tmp_path)
    assert result["server_exit"] == 0
    assert result["record_exit"] == [0, 0], result["record_stderr"]
    # `record --e2ee-key` (decrypt mode) keeps plaintext: tracks not marked encrypted.
    assert {t["name"]: t["encryption"] for t in result["decrypted_info"]["tracks"]} == {"imu": "none", "camera": "none"}
    assert result["decrypted_export_exit"] == 0
    # `info` says which tracks are encrypted.
    assert {t["name"]: t["encryption"] for t in result["info"]["tracks"]} == {"imu": "gcm", "camera": "gcm"}, result["info"]
    # Export without a key: ciphertext, marked as such, never the plaintext.
    assert result["export_plain"]["exit"] == 0, result["export_plain"]
    assert "E2EE ciphertext" in result["export_plain"]["stderr"]
    # Export with a wrong key: nothing passes as plaintext, the failures are counted, exit 2.
    assert result["export_wrong"]["exit"] == 2, result["export_wrong"]
    assert result["export_wrong"]["rows"] == 0
    assert "dropped_authentication_failed" in result["export_wrong"]["stderr"]
    assert result["export_key"]["exit"] == 0, result["export_key"]
    assert result["play_exit"] == 0, result["play_stderr"]
    for name, track in result["tracks"].items():
        # Data tracks are lossy: what did not reach the file is counted in it (gap/drop events).
        assert track["recorded"] > 0 and track["unaccounted"] == 0, (name, track)
        assert track["cipher_marked"] and not track["cipher_has_plaintext"], (name, track)
        assert track["cipher_length_is_plaintext_plus_tag"], (name, track)
        # The key decrypts the recording into exactly what the robot pushed (in order, byte
        # for byte; the SDK publisher may lose a frame before the server under load).
        assert track["exported_plaintext_in_order_subset_of_sent"], (name, track)
        # The SDK viewer with the key decrypts the replayed ciphertext: original payloads and
        # timestamps, in order (lossy channel: at most 2 % missing, the rest byte-exact).
        assert track["replayed_in_order_subset"], (name, track)
        assert track["decrypt_mode_in_order_subset_of_sent"] and track["decrypt_mode_unmarked"], (name, track)
        assert track["decrypt_mode_recorded"] > 0 and track["decrypt_mode_unaccounted"] == 0, (name, track)
        # That plaintext recording replayed with `play --e2ee-key` into an E2EE room: the SDK
        # viewer with the key gets its frames (the first second), byte for byte.
        assert track["reencrypted_received"] > 0 and track["reencrypted_in_order_subset_of_decrypted"], (name, track)
        assert track["replayed"] >= track["recorded"] - max(1, track["recorded"] // 50), (name, track)
    # The Swift viewer with a wrong key: nothing delivered, every frame counted as an
    # authentication failure.
    wrong = result["swift_wrong_key"]
    assert wrong["frames"] == 0, wrong
    assert wrong["stats"]["e2ee_drops"]["authentication_failed"] > 0, wrong
    assert wrong["stats"]["frames_received"] == 0, wrong
    # And so does the SDK's own viewer holding a wrong key (replayed the first second to it).
    assert result["sdk_wrong_key_play"].startswith("frames sent ") and not result["sdk_wrong_key_play"].startswith("frames sent 0,")
    assert result["sdk_wrong_key_frames"] == 0
    assert result["reencrypted_play"].startswith("frames sent ") and not result["reencrypted_play"].startswith("frames sent 0,")
    # What the server received (two sessions' worth of encrypted packets) has no plaintext,
    # while the plaintext control publisher's frames are visible in the same capture.
    assert result["capture_control_hits"] > 0, result["capture_bytes"]
    assert result["capture_plaintext_hits"] == 0
