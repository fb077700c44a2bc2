#!/usr/bin/env python3
"""Does a subscriber that never reads slow down the others?

    scripts/bench/slow_reader_bench.py --binary .build/release/storehub [--rate 500] [--seconds 10]

One hub (no devices), SUBSCRIBERS live subscribers that read, one publisher at RATE events/s for SECONDS.
Run "baseline": nothing else. Run "stalled": the same plus STALLED subscribers on the same topic that stop
reading at once (raw sockets with a 4 KiB receive buffer). Runs alternate (baseline, stalled, baseline,
stalled) so drift in the machine's load hits both. Prints publish-to-deliver latency of the reading
subscribers (p50, p99, max) per run kind, the ratio stalled/baseline, and the hub's RSS.
Latency is measured in this one Python process (publish send to receive), so client overhead is in both.
"""

import argparse
import asyncio
import base64
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hublauncher import start_hub, write_config  # noqa: E402

TOPIC = "bench.slow"


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stalled_subscriber(port, token):
    """Upgrades, subscribes, and never reads again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /api/v1/bus HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade"
                  f"\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
                  ).encode())
    payload = json.dumps({"op": "subscribe", "id": "stalled", "topic": TOPIC}).encode()
    mask = os.urandom(4)
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    return sock


async def run_once(port, token, subscribers, stalled, rate, seconds, pad):
    headers = {"Authorization": f"Bearer {token}"}
    stalled_sockets = [stalled_subscriber(port, token) for _ in range(stalled)]
    readers = []
    for index in range(subscribers):
        ws = await connect(f"ws://127.0.0.1:{port}/api/v1/bus", additional_headers=headers, proxy=None,
                           max_size=None)
        await ws.send(json.dumps({"op": "subscribe", "id": "r", "topic": TOPIC}))
        while json.loads(await ws.recv())["op"] != "subscribed":
            pass
        readers.append(ws)
    publisher = await connect(f"ws://127.0.0.1:{port}/api/v1/bus", additional_headers=headers, proxy=None)
    sent = {}
    latencies = []
    total = int(rate * seconds)
    dropped = 0

    async def read(ws):
        nonlocal dropped
        got = 0
        while got < total:
            message = json.loads(await ws.recv())
            if message["op"] == "event":
                number = message["event"]["data"]["n"]
                latencies.append(time.perf_counter() - sent[number])
                got += 1
            elif message["op"] == "dropped":
                dropped += message["count"]
                got += message["count"]

    async def drain_publisher():
        while True:
            await publisher.recv()

    tasks = [asyncio.create_task(read(ws)) for ws in readers]
    drain = asyncio.create_task(drain_publisher())
    start = time.perf_counter()
    filler = "x" * pad
    for number in range(total):
        due = start + number / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[number] = time.perf_counter()
        await publisher.send(json.dumps({"op": "publish", "topic": TOPIC, "type": "bench.slow",
                                         "data": {"n": number, "pad": filler}}))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 60)
    drain.cancel()
    for ws in readers + [publisher]:
        await ws.close()
    for sock in stalled_sockets:
        sock.close()
    return latencies, dropped


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, required=True)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--stalled", type=int, default=1)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--pad", type=int, default=1000, help="bytes of filler per event")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storehub-slow-reader-") as temp:
        bus = {"publishRatePerToken": max(2000, args.rate * 2), "publishBurst": 100000}
        config = write_config(temp, {"hub": "bench", "listen": {"port": 0}, "bus": bus})
        hub = start_hub(args.binary.resolve(), Path(temp) / "state", temp, config)
        port, token = hub.port, hub.admin_token
        try:
            results = {"baseline": [], "stalled": []}
            drops = {"baseline": 0, "stalled": 0}
            rss = {"baseline": 0, "stalled": 0}
            for _ in range(args.rounds):
                for kind, stalled in (("baseline", 0), ("stalled", args.stalled)):
                    latencies, dropped = asyncio.run(run_once(port, token, args.subscribers, stalled, args.rate,
                                                              args.seconds, args.pad))
                    results[kind] += latencies
                    drops[kind] += dropped
                    rss[kind] = max(rss[kind], rss_kib(hub.pid))
        finally:
            hub.stop(20)
    print(f"slow reader bench: {args.subscribers} reading subscribers, {args.rate:.0f} events/s of ~{args.pad} B "
          f"for {args.seconds:.0f} s, {args.rounds} rounds; stalled = plus {args.stalled} subscriber(s) that never read")
    print(f"{'run':<10}{'deliveries':>12}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'dropped':>9}{'hub RSS MiB':>13}")
    figures = {}
    for kind in ("baseline", "stalled"):
        values = results[kind]
        figures[kind] = (percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000, max(values) * 1000)
        print(f"{kind:<10}{len(values):>12}{figures[kind][0]:>10.2f}{figures[kind][1]:>10.2f}{figures[kind][2]:>10.1f}"
              f"{drops[kind]:>9}{rss[kind] / 1024:>13.1f}")
    print(f"ratio stalled/baseline: p50 {figures['stalled'][0] / figures['baseline'][0]:.2f}, "
          f"p99 {figures['stalled'][1] / figures['baseline'][1]:.2f}")


if __name__ == "__main__":
    main()
