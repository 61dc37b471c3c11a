"""Replay an imported ROS 2 bag into a live room, run INSIDE scripts/netns-run: `trackbag serve`,
then LiveKit's official SDK (livekit==1.2.1, this process) joins room `replay` as a viewer and
`trackbag play` replays the recording. Prints one JSON line: for each track the viewer saw, its
publisher, the payloads it received (base64, in arrival order) and the frame encoding and schema
id the SDK was told.

usage: rosbag2_play_driver.py TRACKBAG WORKDIR RECORDING EXPECTED_FRAMES
"""
import asyncio
import base64
import json
import os
import sys
import time

import livekit.rtc.room as sdk_room
from livekit import rtc
from livekit.rtc._proto import data_track_pb2

from live_room import STEP, read_every_track, read_lines, run_then_exit, start_server, stop, token, wait_finished

TRACKBAG, WORKDIR, RECORDING, EXPECTED = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ADDR = os.environ.get("TB_ADDR_A", "10.99.0.1")
os.makedirs(WORKDIR, exist_ok=True)


class RemoteDataTrackWithInfo(sdk_room.RemoteDataTrack):
    """The SDK's remote data track, keeping the FFI `DataTrackInfo` it was made from. The
    Python wrapper of livekit 1.2.1 copies only sid, name and uses_e2ee into its own
    `DataTrackInfo`, although the message its native core hands over also carries the track's
    `frame_encoding` and `schema` (livekit/rtc/_proto/data_track_pb2); this is what the SDK
    received from the server, read where the wrapper drops it."""

    def __init__(self, owned_info):
        super().__init__(owned_info)
        self.wire_info = owned_info.info


sdk_room.RemoteDataTrack = RemoteDataTrackWithInfo


def described(info):
    """Frame encoding and schema id of an FFI DataTrackInfo, as names."""
    out = {"frame_encoding": None, "schema": None}
    if info.HasField("frame_encoding"):
        which = info.frame_encoding.WhichOneof("encoding")
        out["frame_encoding"] = (data_track_pb2.DataTrackFrameEncoding.WellKnownFrameEncoding.Name(
            info.frame_encoding.well_known) if which == "well_known" else info.frame_encoding.custom)
    if info.HasField("schema"):
        which = info.schema.encoding.WhichOneof("encoding")
        encoding = (data_track_pb2.DataTrackSchemaEncoding.WellKnownSchemaEncoding.Name(info.schema.encoding.well_known)
                    if which == "well_known" else info.schema.encoding.custom if which == "custom" else None)
        out["schema"] = {"name": info.schema.name, "encoding": encoding}
    return out


async def main():
    server, url = start_server(TRACKBAG, WORKDIR, ADDR)
    viewer = rtc.Room()
    tracks = {}
    player = None
    try:
        def on_frame(track, frame):
            key = f"{track.publisher_identity}/{track.info.name}"
            entry = tracks.setdefault(key, {"frames": []})
            entry["frames"].append(base64.b64encode(bytes(frame.payload)).decode())
            entry["user_timestamps"] = entry.get("user_timestamps", []) + [frame.user_timestamp]

        def on_published(track):
            entry = tracks.setdefault(f"{track.publisher_identity}/{track.info.name}", {"frames": []})
            entry.update(described(track.wire_info))

        viewer.on("data_track_published", on_published)
        readers = read_every_track(viewer, on_frame, buffer_size=4096)
        await asyncio.wait_for(viewer.connect(url, token("viewer", "replay")), STEP)
        started = time.monotonic()
        player = await asyncio.create_subprocess_exec(
            TRACKBAG, "play", RECORDING, "--url", url, "--room", "replay", "--wait-for-subscribers", "1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = [], []
        await wait_finished(player, asyncio.gather(read_lines(player.stdout, out), read_lines(player.stderr, err)),
                            err, "trackbag play")
        played_for = time.monotonic() - started
        # Frames still on their way.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sum(len(t["frames"]) for t in tracks.values()) < EXPECTED:
            await asyncio.sleep(0.05)
        for r in readers:
            r.cancel()
        print(json.dumps({"tracks": tracks, "play_exit": player.returncode, "play_stdout": out, "play_stderr": err[-20:],
                          "played_seconds": round(played_for, 3)}))
    finally:
        if player is not None and player.returncode is None:
            player.kill()
            await player.wait()
        try:
            await viewer.disconnect()
        except Exception:
            pass
        stop(server)


run_then_exit(main())
