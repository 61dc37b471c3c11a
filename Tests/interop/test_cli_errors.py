"""What a person reads when a command cannot do its job: one line that says what failed, and no
half-made file left behind. Loopback only; nothing listens on the port the recorder is sent to."""
import socket
import subprocess


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_record_against_an_absent_server_says_so_in_one_line_and_leaves_no_file(trackbag, tmp_path):
    out = tmp_path / "session.tbag"
    done = subprocess.run([trackbag, "record", "--url", f"ws://127.0.0.1:{free_port()}", "--room", "lab",
                           "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "connection refused" in errors[0] and "cannot join room 'lab'" in errors[0], errors
    assert "join_request" not in done.stderr and len(errors[0]) < 300, errors
    assert not out.exists() and not list(tmp_path.iterdir()), list(tmp_path.iterdir())
    assert "no file was written" in done.stdout, done.stdout


def test_record_refuses_an_existing_file_before_joining(trackbag, tmp_path):
    out = tmp_path / "session.tbag"
    out.write_bytes(b"keep me")
    done = subprocess.run([trackbag, "record", "--url", f"ws://127.0.0.1:{free_port()}", "--room", "lab",
                           "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done
    assert "exists" in done.stderr and "--overwrite" in done.stderr, done.stderr
    assert out.read_bytes() == b"keep me"


def test_validate_reports_a_misspelt_option_with_the_one_it_meant(trackbag, tmp_path):
    config = tmp_path / "p.yaml"
    config.write_text("""sources:
  s: {type: recording, path: in.tbag}
transforms:
  f:
    type: filter
    inputs: [s]
    wher: 'track == "imu"'
sinks:
  o: {type: recording, inputs: [f], path: out.tbag}
""")
    done = subprocess.run([trackbag, "validate", str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"{config}:5:5: stage 'f': missing option 'condition'" in done.stderr, done.stderr
    assert f"{config}:7:5: stage 'f': unknown option 'wher' (did you mean 'condition'?)" in done.stderr, done.stderr
