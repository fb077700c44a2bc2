#!/usr/bin/env python3
"""StoreHub's `make bench-uplink`: events/s the MQTT uplink forwards with QoS 1 to Mosquitto on loopback, live and
as a backlog drain after an outage, next to Mosquitto's own `mosquitto_pub -q 1` rate in the same run.

Run with the project venv from the repo root:
    .venv/bin/python scripts/bench/uplink_bench.py [--binary .build/release/storehub] [--events 20000]
"""

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.asyncio.client import connect as ws_connect

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "Tests" / "Integration")]
from hublauncher import start_hub, write_config  # noqa: E402
from uplink_brokers import Mosquitto  # noqa: E402

_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))
PAYLOAD = {"symbology": "qr", "text": "ORDER-0000000000-PICKUP", "class": "pickup", "n": 0}


def get(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with _http.open(request, timeout=10) as response:
        return json.loads(response.read())


class BenchHub:
    def __init__(self, binary, root, broker_url, window):
        config = write_config(root, {
            "hub": "bench-hub",
            "log": {"maxEvents": 5_000_000},
            # The per-token publish rate limit is lifted so the bench measures the uplink, not the limit.
            "bus": {"publishRatePerToken": 10_000_000, "publishBurst": 10_000_000},
            "uplink": {"brokers": [broker_url], "store": "bench", "maxInFlight": window, "backlogWarning": 10_000_000},
        })
        self.hub = start_hub(binary, root / "state", root, config, timeout=30)
        self.url, self.token = self.hub.url, self.hub.admin_token

    def uplink(self):
        return get(self.url + "api/v1/hub", self.token)["uplink"]

    def wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.uplink()
            if predicate(status):
                return status
            time.sleep(0.005)
        raise SystemExit(f"timed out waiting for {what}: {self.uplink()}")

    async def publish(self, count):
        """Publishes `count` scan events with up to 500 unanswered; returns the seconds it took."""
        ws_url = "ws" + self.url[len("http"):] + "api/v1/bus"
        async with ws_connect(ws_url, additional_headers={"Authorization": f"Bearer {self.token}"}, proxy=None,
                              compression=None, max_queue=None) as ws:
            await ws.recv()
            started = time.perf_counter()
            answered = 0
            sent = 0
            while answered < count:
                while sent < count and sent - answered < 500:
                    payload = dict(PAYLOAD, n=sent)
                    await ws.send(json.dumps({"op": "publish", "topic": f"scan.kiosk-{sent % 4}", "type": "storehub.scan",
                                              "data": payload, "ref": sent}))
                    sent += 1
                message = json.loads(await ws.recv())
                if message["op"] == "published":
                    answered += 1
                elif message["op"] == "error":
                    raise SystemExit(f"publish refused: {message}")
            return time.perf_counter() - started

    def stop(self):
        self.hub.stop(15)


def mosquitto_pub_rate(port, count, payload_bytes):
    """`mosquitto_pub -q 1 -l`: one QoS 1 message per stdin line, over one connection; events/s."""
    binary = shutil.which("mosquitto_pub")
    if binary is None:
        raise SystemExit("mosquitto_pub not found: scripts/install-deps installs mosquitto-clients")
    line = ("x" * payload_bytes + "\n").encode()
    started = time.perf_counter()
    subprocess.run([binary, "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", "chain/bench/baseline", "-l"],
                   input=line * count, check=True)
    return count / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=str(REPO / ".build" / "release" / "storehub"))
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=64, help="the uplink's maxInFlight")
    parser.add_argument("--json", default=str(REPO / "test-artifacts" / "bench-uplink.json"))
    args = parser.parse_args()
    (REPO / ".state").mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="bench-uplink-", dir=REPO / ".state"))
    broker = Mosquitto(root / "mosquitto")
    broker.start()
    hub = None
    try:
        hub = BenchHub(Path(args.binary), root / "hub", broker.url, args.window)
        hub.wait(lambda s: s["connected"], 20, "the uplink to connect")

        # 1. Live: publish on the bus while the uplink forwards; from the first publish to the last PUBACK.
        base = hub.uplink()["acknowledged"]
        started = time.perf_counter()
        publish_seconds = asyncio.run(hub.publish(args.events))
        hub.wait(lambda s: s["acknowledged"] - base >= args.events and s["backlog"] == 0, 120, "the live run")
        live_seconds = time.perf_counter() - started
        ingest_rate = args.events / publish_seconds
        live_rate = args.events / live_seconds

        # 2. Drain: broker down, a backlog builds in the log, broker back: from the reconnect to an empty backlog.
        broker.stop()
        hub.wait(lambda s: not s["connected"], 20, "the uplink to notice the outage")
        asyncio.run(hub.publish(args.events))
        backlog = hub.uplink()["backlog"]
        broker.start()
        connected = hub.wait(lambda s: s["connected"], 30, "the reconnect")
        started = time.perf_counter()
        hub.wait(lambda s: s["backlog"] == 0, 300, "the backlog to drain")
        drain_seconds = time.perf_counter() - started
        drain_rate = backlog / drain_seconds

        # 3. Baseline: Mosquitto's own client, QoS 1, same broker, same payload size.
        event_bytes = len(json.dumps({"specversion": "1.0", "data": PAYLOAD})) + 200
        baseline = mosquitto_pub_rate(broker.port, args.events, event_bytes)
    finally:
        if hub is not None:
            hub.stop()
        broker.stop()
        shutil.rmtree(root, ignore_errors=True)

    results = {
        "events": args.events, "window": args.window, "bus_ingest_per_s": round(ingest_rate),
        "uplink_live_per_s": round(live_rate), "backlog_events": backlog, "uplink_drain_per_s": round(drain_rate),
        "reconnect_connects": connected["connects"], "mosquitto_pub_qos1_per_s": round(baseline),
        "payload_bytes_baseline": event_bytes,
    }
    print(f"uplink benchmark: {args.events} events, QoS 1, maxInFlight {args.window}, Mosquitto on loopback")
    print(f"  {'what':44} {'events/s':>10} {'vs mosquitto_pub':>17}")
    print(f"  {'bus ingest (publish to accepted)':44} {ingest_rate:10.0f} {'':>17}")
    print(f"  {'uplink live (first publish to last PUBACK)':44} {live_rate:10.0f} {live_rate / baseline:16.2f}x")
    print(f"  {'uplink backlog drain after an outage':44} {drain_rate:10.0f} {drain_rate / baseline:16.2f}x")
    print(f"  {'mosquitto_pub -q 1 -l (baseline)':44} {baseline:10.0f} {1:16.2f}x")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
