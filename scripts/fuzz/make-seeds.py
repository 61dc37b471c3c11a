#!/usr/bin/env python3
"""Writes the fuzz seeds in Tests/Fuzz/corpus/ from real captures and files.

Usage: scripts/fuzz/make-seeds.py DEMO_DIR   (run with the peers venv: .venv-peers/bin/python)
DEMO_DIR holds what `trackbag demo --part offline --seconds 1` wrote plus an MCAP export of
demo-filtered.tbag (filtered.mcap). Seeds stay small: the whole corpus is kept under 2 MB.
Reruns overwrite the generated seeds and leave hand-made ones (and the fuzzer's finds) alone.
"""
import base64, gzip, io, json, os, sqlite3, struct, sys, urllib.parse, zlib
from pathlib import Path

import lz4.frame
import zstandard
from google.protobuf import json_format
from livekit.protocol import models, rtc

root = Path(__file__).resolve().parents[2]
corpus = root / "Tests/Fuzz/corpus"
vectors = Path(os.environ.get("TESTVECTORS", root.parent / "shared/testvectors")) / "livekit-python-1.2.1"
demo = Path(sys.argv[1])


def put(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def pieces(chunks):
    return b"".join(struct.pack(">H", len(c)) + c for c in chunks)


def jsonl(path):
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


# Data tracks and E2EE: the SDK's packets as it sent them (key index 0, shared key in README).
for mode in ["plain", "e2ee", "dual-pc"]:
    packets = [bytes.fromhex(p["hex"]) for p in jsonl(vectors / mode / "publisher-to-server.jsonl")]
    small = [p for p in packets if len(p) < 600][:12]
    put("datatrack", f"{mode}-packets", bytes([1]) + pieces(small))
    if mode == "e2ee":
        put("e2ee", "sdk-packets", pieces(small))

# SDP: offers the SDK sent, and a trickled candidate.
for mode, name in [("plain", "publisher-offer-single-pc.sdp"), ("dual-pc", "publisher-offer.sdp"),
                   ("dual-pc", "server-subscriber-offer-aiortc.sdp")]:
    put("sdp", f"{mode}-{name}", (vectors / mode / name).read_bytes())

# Signal messages: each decoded capture re-encoded as the protobuf the wire carries.
kinds = {"C->S": rtc.SignalRequest, "S->C": rtc.SignalResponse}
n = 0
for line in jsonl(vectors / "plain" / "signal-sequence.jsonl") + jsonl(vectors / "dual-pc" / "signal-sequence.jsonl"):
    cls = kinds.get(line.get("dir"))
    if cls is None or "body" not in line:
        continue
    msg = cls()
    try:
        json_format.ParseDict({line["type"]: line["body"]}, msg, ignore_unknown_fields=True)
    except Exception:
        continue
    put("signal", f"{n:02d}-{line['type']}", msg.SerializeToString())
    n += 1
user = models.DataPacket(kind=models.DataPacket.RELIABLE, destination_identities=["viewer"],
                         user=models.UserPacket(payload=b"hello", topic="chat"))
put("signal", "data-packet-user", user.SerializeToString())

# Signal sequences through the server (signal-server): the SDK's requests in the order it sent
# them, "robot" = pub1 and "viewer" = sub1; two flag bytes (0 = /rtc/v1, 1 = /rtc), then pieces of
# a selector (participant | step << 1; step 0 = request, then read the responses) and the body.
# The captures elide SDPs: offers get the SDK's offer from its own file (on /rtc/v1 it rode in
# the join request), answers to our subscriber offer are left out (they name its ufrag).
def signal_server_seed(mode, offer_path, flag):
    steps = []
    offer = offer_path.read_text()
    who = {"pub1": 0, "sub1": 1}
    if flag == 0:
        for index in (0, 1):
            request = rtc.SignalRequest(offer=rtc.SessionDescription(type="offer", sdp=offer))
            steps.append(bytes([index]) + request.SerializeToString())
    for line in jsonl(vectors / mode / "signal-sequence.jsonl"):
        if line.get("dir") != "C->S" or line.get("from") not in who or line["type"] == "answer":
            continue
        msg = rtc.SignalRequest()
        json_format.ParseDict({line["type"]: line["body"]}, msg, ignore_unknown_fields=True)
        if line["type"] == "offer":
            msg.offer.sdp = offer
        steps.append(bytes([who[line["from"]]]) + msg.SerializeToString())
    return bytes([flag, flag]) + pieces(steps)


single_offer = vectors / "plain" / "publisher-offer-single-pc.sdp"
put("signal-server", "plain-sequence", signal_server_seed("plain", single_offer, 0))
put("signal-server", "e2ee-sequence", signal_server_seed("e2ee", single_offer, 0))
put("signal-server", "dual-pc-sequence", signal_server_seed("dual-pc", vectors / "dual-pc" / "publisher-offer.sdp", 1))
# Without peer connections: publish, subscribe, data packets and data-track packets relayed,
# metadata, a signal close, a re-join of the same identity, a leave.
track = rtc.SignalRequest(publish_data_track_request=rtc.PublishDataTrackRequest(pub_handle=1, name="imu"))
subscribe = rtc.SignalRequest(update_data_subscription=rtc.UpdateDataSubscription(
    updates=[rtc.UpdateDataSubscription.Update(track_sid="DTR_0", subscribe=True)]))
metadata = rtc.SignalRequest(update_metadata=rtc.UpdateParticipantMetadata(
    name="r", metadata="m", attributes={"k": "v"}, request_id=7))
packets = [bytes.fromhex(p["hex"]) for p in jsonl(vectors / "plain" / "publisher-to-server.jsonl")][:4]
steps = [bytes([0]) + track.SerializeToString(), bytes([1]) + subscribe.SerializeToString(),
         bytes([0 | 4 << 1]) + user.SerializeToString(), bytes([1 | 5 << 1]) + user.SerializeToString()]
steps += [bytes([0 | 6 << 1]) + p for p in packets]
steps += [bytes([1 | 7 << 1]), bytes([0]) + metadata.SerializeToString(), bytes([1 | 2 << 1]), bytes([1 | 3 << 1]),
          bytes([1]) + subscribe.SerializeToString(), bytes([0]) + rtc.SignalRequest(
              unpublish_data_track_request=rtc.UnpublishDataTrackRequest(pub_handle=1)).SerializeToString(),
          bytes([0]) + rtc.SignalRequest(leave=rtc.LeaveRequest(reason=models.CLIENT_INITIATED)).SerializeToString()]
put("signal-server", "rooms-rules", bytes([0x10, 0x08]) + pieces(steps))

# Join requests: the SDK's /rtc/v1 query (base64url of a gzipped JoinRequest), and /rtc.
wrapped = (root / "Tests/fixtures/livekit-protocol/python-sdk-1.2.1-join-request.txt").read_text().strip()
put("join-request", "rtc-v1", f"/rtc/v1?join_request={wrapped}\0Bearer abc.def.ghi")
put("join-request", "rtc", "/rtc?access_token=abc.def.ghi&auto_subscribe=1&sdk=python&protocol=16"
                           "&attributes=eyJhIjoiYiJ9&metadata=x\0")

# Access tokens: one valid for devkey/secret far in the future, one malformed header.
def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
import hashlib, hmac
header = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = b64u(json.dumps({"iss": "devkey", "sub": "robot", "nbf": 0, "exp": 4102444800,
                          "video": {"room": "lab", "roomJoin": True, "canPublishData": True},
                          "metadata": "m", "attributes": {"k": "v"}}).encode())
signature = b64u(hmac.new(b"secret", f"{header}.{claims}".encode(), hashlib.sha256).digest())
put("jwt", "devkey-valid", f"{header}.{claims}.{signature}")
none_header = b64u(b'{"alg":"none"}')
put("jwt", "alg-none", f"{none_header}.{claims}.")

# DCEP: the SDK's OPEN for _data_track, an ACK.
put("dcep", "sdk-open-data-track", bytes.fromhex("0381010000000000000b00005f646174615f747261636b"))
put("dcep", "ack", b"\x02")

# DTLS: a ClientHello-shaped record and two records in one datagram.
record = bytes([22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]) + b"\x01\x00\x00\x00"
put("dtls-records", "two-records", record + bytes([20, 0xFE, 0xFD, 0, 1] + [0] * 6 + [0, 1]) + b"\x01")

# SCTP: an INIT chunk (RFC 4960 §3.3.2) with a zero checksum the target fills in.
init = struct.pack(">HHIIBBHIIHHI", 5000, 5000, 0, 0, 1, 0, 20, 0x11223344, 131072, 1024, 1024, 7)
put("sctp", "init", bytes([0]) + pieces([init]))
put("sctp", "notification-assoc-change", bytes([0x80]) + struct.pack("<HHIHHHH", 1, 0, 20, 1, 0, 1024, 1024) + bytes(4))

# Codecs: payloads the demo's robot publishes and JSON lines it exported.
lines = (demo / "demo-filtered.jsonl").read_bytes().splitlines()
put("jsonlines", "demo-export", b"\n".join(lines[:6]) + b"\n")
for i, line in enumerate(lines[:40]):
    record = json.loads(line)
    payload = base64.b64decode(record["payload_b64"])
    kind = {"status": "json", "joint_states": "json", "odometry": "cbor"}.get(record["track"])
    if kind and not (corpus / kind / record["track"]).exists():
        put(kind, record["track"], payload)
    if i == 0:
        put("base64", "payload", record["payload_b64"])
put("json", "nested", '{"a": [1, -2.5e-3, true, null, "\\u00e9\\ud83d\\ude00"], "b": {"c": 18446744073709551615}}')
put("msgpack", "map", bytes.fromhex("83a178cb3ff8000000000000a179d0fe") + b"\xa2ok\xc3")
put("msgpack", "types", bytes.fromhex("95c0c2cf00000000ffffffffd3fffffffffffffffec4020102"))
put("cbor", "types", bytes.fromhex("a4616101616282f93c00fb3ff199999999999a6163d82a4401020304616480"))
put("glob", "track", b"robot-*/pose\0robot-1/pose\nrobot-2/imu\n")
put("glob", "class", b"**/[a-c]?\0a/b/c\nx/y\n")

# Config, filter, sizes and durations: the demo's pipeline and what the docs show.
put("config", "demo-pipeline.yaml", (demo / "demo-pipeline.yaml").read_bytes())
put("config", "json-config", json.dumps({"sources": {"in": {"type": "jsonl", "path": "in.jsonl"}},
                                         "sinks": {"out": {"type": "mcap", "inputs": ["in"], "path": "out.mcap",
                                                           "compression": "zstd"}}}))
put("filter", "demo", 'track == "status" || (track == "joint_states" && value.accel.z > 10.5) || track == "odometry"')
put("filter", "arith", '!(value.x * 2 + 1 >= -3.5) && identity != "a" || time_ns % 2 == 0 && value.list[2].z == null')
put("size-duration", "size", "512MiB")
put("size-duration", "duration", "1m30.5s")

# Storage: varints, chunk bodies, chunk rows, whole recordings and MCAP files.
put("varint", "mixed", bytes([0, 1, 0x7F, 0x80, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]))
db = sqlite3.connect(demo / "demo-filtered.tbag")
rows = db.execute("SELECT track_id, start_ns, end_ns, frame_count, raw_size, codec, data FROM chunks LIMIT 4").fetchall()
dctx = zstandard.ZstdDecompressor()
for i, (track, start, end, count, raw, codec, data) in enumerate(rows[:2]):
    body = dctx.decompress(data, max_output_size=raw) if codec == "zstd" else data
    put("tbag-chunk", f"body-{i}", bytes([0]) + body[:2000])
    if len(data) < 2000:
        put("tbag-chunk", f"zstd-{i}", bytes([1]) + raw.to_bytes(3, "big") + data)
row_bytes = []
for track, start, end, count, raw, codec, data in rows:
    if len(data) > 1500:
        continue
    row_bytes.append(bytes([track]) + struct.pack(">qqq", start, end, count) + raw.to_bytes(3, "big")
                     + bytes([0 if codec == "zstd" else 1]) + data)
put("tbag-rows", "demo-rows", pieces(row_bytes))
put("tbag-file", "demo-filtered.tbag", (demo / "demo-filtered.tbag").read_bytes())
mcap = (demo / "filtered.mcap").read_bytes()
put("mcap", "export-zstd.mcap", mcap)

# A second MCAP written by the mcap reference library: lz4 chunks, attachments, metadata.
from mcap.writer import Writer, CompressionType
buf = io.BytesIO()
w = Writer(buf, compression=CompressionType.LZ4, chunk_size=256)
w.start("fuzz", "trackbag")
s = w.register_schema("pose", "jsonschema", b'{"type":"object"}')
c = w.register_channel("robot/pose", "json", s, {"k": "v"})
for i in range(12):
    w.add_message(c, log_time=i * 1000, publish_time=i * 1000, data=json.dumps({"i": i}).encode(), sequence=i)
w.add_attachment(5, 5, "calib.txt", "text/plain", b"calibration")
w.add_metadata("session", {"robot": "r1"})
w.finish()
put("mcap", "reference-lz4.mcap", buf.getvalue())
