#!/usr/bin/env python3
"""StoreHub's `make bench-scanners`: serial scanner latency, from the last byte of a scan written to a
pseudo-terminal to the scan event received by a WebSocket bus client, with the pseudo-terminal itself read
directly from Python as the baseline (the floor of the transport, no hub).

Run with the project venv from the repo root:
    .venv/bin/python scripts/bench/scanner_bench.py [--binary .build/release/storehub] [--scans 300]
Scans are sent one at a time (the next after the previous one arrived), so each figure is one scan's latency,
not a queue's. See scripts/bench/README.md.
"""

import argparse
import asyncio
import json
import os
import select
import shutil
import statistics
import sys
import tempfile
import time
import tty
from pathlib import Path

from websockets.asyncio.client import connect as ws_connect

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from hublauncher import start_hub, write_config  # noqa: E402

DEVICE = "scanner-bench"


def percentiles(samples_ms):
    ordered = sorted(samples_ms)

    def pick(q):
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": statistics.median(ordered), "p99": pick(0.99), "max": ordered[-1], "n": len(ordered)}


def baseline(scans):
    """Last byte written to the master → the whole line read from the raw slave, in this process."""
    master, slave = os.openpty()
    tty.setraw(slave)
    samples = []
    try:
        for index in range(scans):
            line = f"BENCH-{index:05d}\r".encode()
            os.write(master, line)
            start = time.perf_counter_ns()
            got = b""
            while not got.endswith(b"\r"):
                select.select([slave], [], [], 5)
                got += os.read(slave, 4096)
            samples.append((time.perf_counter_ns() - start) / 1e6)
    finally:
        os.close(master)
        os.close(slave)
    return percentiles(samples)


def start(binary, folder, slave_link):
    config = write_config(folder, {"hub": "bench", "listen": {"port": 0}}, devices=[{
        "id": DEVICE, "kind": "scanner", "scanner": {
            "type": "serial", "path": str(slave_link), "baud": 115200, "framing": "cr", "maxLength": 64},
        "decoder": {"duplicateWindowSeconds": 0}}])
    return start_hub(binary, folder / "state", folder, config, port=None, extra_args=("--log-level", "warning"),
                     timeout=30)


async def hub_latency(url, token, master, scans):
    ws_url = "ws" + url[len("http"):] + "api/v1/bus"
    async with ws_connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}, proxy=None,
                          compression=None) as ws:
        await ws.recv()  # hello
        await ws.send(json.dumps({"op": "subscribe", "id": "s", "topic": f"device.status.{DEVICE}"}))
        await ws.send(json.dumps({"op": "subscribe", "id": "scans", "topic": f"scan.{DEVICE}"}))
        # Wait for online, so that the port is configured (raw) before the first byte.
        async with asyncio.timeout(30):
            while True:
                message = json.loads(await ws.recv())
                if message.get("op") == "event" and message["event"]["data"].get("state") == "online":
                    break
        await asyncio.sleep(0.2)
        samples = []
        for index in range(scans):
            text = f"BENCH-{index:05d}"
            os.write(master, text.encode() + b"\r")
            start = time.perf_counter_ns()
            async with asyncio.timeout(10):
                while True:
                    message = json.loads(await ws.recv())
                    if message.get("op") == "event" and message["event"]["data"].get("text") == text:
                        break
            samples.append((time.perf_counter_ns() - start) / 1e6)
        return percentiles(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(REPO / ".build" / "release" / "storehub"))
    parser.add_argument("--scans", type=int, default=300)
    parser.add_argument("--json", default=str(REPO / "test-artifacts" / "bench-scanners.json"))
    args = parser.parse_args()
    binary = Path(args.binary)
    if not binary.is_file():
        raise SystemExit(f"no storehub binary at {binary}: run `swift build -c release`")

    (REPO / ".state").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-scanners-", dir=REPO / ".state"))
    master, slave = os.openpty()
    link = folder / "serial-by-id-bench-scanner"
    os.symlink(os.ttyname(slave), link)
    os.close(slave)
    storehub = None
    try:
        floor = baseline(args.scans)
        storehub = start(binary, folder, link)
        try:
            hub = asyncio.run(hub_latency(storehub.url, storehub.admin_token, master, args.scans))
        except TimeoutError:
            raise SystemExit(f"a scan did not arrive within 10 s; hub log:\n{storehub.stderr_text()[-3000:]}")
    finally:
        if storehub is not None:
            storehub.stop(15)
        os.close(master)
        shutil.rmtree(folder, ignore_errors=True)

    print(f"Serial scanner latency, {args.scans} scans one at a time (ms):")
    print(f"  {'':44} {'p50':>7} {'p99':>7} {'max':>7}")
    for label, figures in (("storehub: last byte -> scan event on the bus", hub),
                           ("baseline: last byte -> line read from the pty", floor)):
        print(f"  {label:44} {figures['p50']:7.3f} {figures['p99']:7.3f} {figures['max']:7.3f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"storehub": hub, "baseline": floor}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
