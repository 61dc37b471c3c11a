"""aioice (aiortc's ICE agent, from the pinned venv) as the judging peer of our ICE stack.

Driven over stdin/stdout with JSON lines by the Swift test `ICEAioiceInteropTests`:
  → {"ufrag", "pwd", "candidates": [sdp…]}              (ours, after gathering)
  ← {"ufrag", "pwd", "candidates": [sdp…], "lite": bool} (the Swift agent's)
  → {"event": "connected", "controlling": bool}         (after aioice's connect())
  then every datagram aioice receives is echoed back, until stdin says "stop" or closes:
  → {"event": "stopped", "echoed": n}
Only addresses of the test namespace are involved (aioice skips 127.0.0.1).
"""
import argparse
import asyncio
import json
import sys

import aioice


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--controlling", action="store_true")
    args = parser.parse_args()

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    connection = aioice.Connection(ice_controlling=args.controlling, use_ipv6=False)
    await connection.gather_candidates()
    emit({"ufrag": connection.local_username, "pwd": connection.local_password,
          "candidates": [c.to_sdp() for c in connection.local_candidates]})

    remote = json.loads(await asyncio.wait_for(reader.readline(), 20))
    connection.remote_username = remote["ufrag"]
    connection.remote_password = remote["pwd"]
    connection.remote_is_lite = bool(remote.get("lite"))
    for sdp in remote["candidates"]:
        await connection.add_remote_candidate(aioice.Candidate.from_sdp(sdp.removeprefix("candidate:")))
    await connection.add_remote_candidate(None)
    await asyncio.wait_for(connection.connect(), 20)
    emit({"event": "connected", "controlling": connection.ice_controlling})

    echoed = 0

    async def echo():
        nonlocal echoed
        while True:
            data = await connection.recv()
            await connection.send(data)
            echoed += 1

    echo_task = asyncio.create_task(echo())
    stop_task = asyncio.create_task(reader.readline())
    await asyncio.wait([echo_task, stop_task], timeout=60, return_when=asyncio.FIRST_COMPLETED)
    echo_task.cancel()
    stop_task.cancel()
    await connection.close()
    emit({"event": "stopped", "echoed": echoed})


asyncio.run(main())
