#!/usr/bin/env python3
"""The demo shop at real rates on one box: the whole hub under the load of a small shop, for --seconds.

Load (the shop): two kiosks at 1280x720 30 fps fed camera-like MJPEG frames (4:2:2, no Huffman tables, decoded
per frame as a USB camera's; a replay camera with `format`), showing the demo media's codes now and then (each
picture held one second, three code-free pictures after each code); one mirror at 1280x720 30 fps on the
portrait, native landmarks on, its stream watched at the full rate; ten bus subscribers to `>`; the status
page's requests (device list every second, a preview per device every second, /metrics every five seconds).

Baseline, in the same run and under the same clients: the demo store as shipped (`storehub run` without a
config: kiosks replaying decoded stills at 8 fps, the mirror's portrait warped per frame at 8 fps).

Reported per hub: total CPU (share of one core) and RSS, each device's delivered and processed fps, scan latency
(the frame's capture time in the scan event to its arrival at a subscriber) p50/p99, and the mirror's rendered
fps and capture-to-stream p50/p99 (from /metrics).
Goals (issue 18): total at most 1.0 core, mirror at least 30 fps, scan p99 at most 100 ms.

Usage: scripts/bench/shop_bench.py --binary .build/release/storehub [--seconds 60] [--json OUT]
"""

import argparse
import asyncio
import datetime
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mirror_bench import (HOST, REPO, StreamWatcher, free_port, histogram, parse_metrics,  # noqa: E402
                          proc_cpu_seconds, proc_rss_mb, quantile, window)
import mirror_bench  # noqa: E402
from hublauncher import run_args  # noqa: E402 (mirror_bench puts it on the path)

SUBSCRIBERS = 10


def shop_config(work, port):
    """The shop's config: kiosks and mirror as camera-like replay cameras at 1280x720 30 fps."""
    media = REPO / "Assets" / "demo" / "media"
    manifest = json.loads((media / "manifest.json").read_text())
    config = work / "shop"
    (config / "devices").mkdir(parents=True)
    for kiosk, symbologies in (("kiosk-pickup", ["qr"]), ("kiosk-aisle", ["ean13", "ean8", "upca", "upce"])):
        frames = manifest["devices"][kiosk]["frames"]
        blanks = [f["file"] for f in frames if not f["codes"]]
        codes = [f["file"] for f in frames if f["codes"]]
        folder = config / kiosk
        folder.mkdir()
        index = 0
        for code in codes:
            for name in [code] + [blanks[(index + k) % len(blanks)] for k in range(3)]:
                shutil.copy(media / kiosk / name, folder / f"{index:03d}.jpg")
                index += 1
        (config / "devices" / f"{kiosk}.json").write_text(json.dumps({
            "id": kiosk, "kind": "kiosk",
            "camera": {"type": "replay", "path": str(folder), "fps": 30, "hold": 30, "format": "MJPG",
                       "width": 1280, "height": 720},
            "decoder": {"symbologies": symbologies, "duplicateWindowSeconds": 3}}))
    catalog = json.loads((REPO / "Assets" / "shades.json").read_text())
    (config / "devices" / "mirror-beauty.json").write_text(json.dumps({
        "id": "mirror-beauty", "kind": "mirror",
        "camera": {"type": "replay", "path": str(REPO / ".cache" / "faces" / "grace_hopper.jpg"), "fps": 30,
                   "format": "MJPG", "width": 1280, "height": 720},
        "mirror": {"defaultShade": catalog["shades"][0]["sku"], "cycleShadesSeconds": 5, "streamFps": 30}}))
    (config / "hub.json").write_text(json.dumps({
        "hub": "bench-shop", "listen": {"host": HOST, "port": port}, "devices": "devices",
        "statusPage": str(REPO / "Assets" / "status"), "shades": str(REPO / "Assets" / "shades.json"),
        "models": str(REPO / ".cache" / "models")}))
    return config / "hub.json"


class Subscribers(threading.Thread):
    """Ten WebSocket clients subscribed to `>`; one of them times scans from their frame to its arrival."""

    def __init__(self, port, token):
        super().__init__(daemon=True)
        self.port, self.token = port, token
        self.events, self.scan_latencies, self.measuring, self.stop = 0, [], False, False

    def run(self):
        asyncio.run(self.main())

    async def client(self, index):
        async with websockets.connect(f"ws://{HOST}:{self.port}/api/v1/bus", max_size=None,
                                      additional_headers={"Authorization": f"Bearer {self.token}"}) as ws:
            await ws.send(json.dumps({"op": "subscribe", "id": "all", "topic": ">"}))
            while not self.stop:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 1))
                except asyncio.TimeoutError:
                    continue
                if message.get("op") != "event":
                    continue
                arrived = time.time()
                if self.measuring:
                    self.events += 1
                event = message["event"]
                if index == 0 and self.measuring and event.get("subject", "").startswith("scan."):
                    frame = datetime.datetime.fromisoformat(event["data"]["frameTime"].replace("Z", "+00:00"))
                    self.scan_latencies.append((arrived - frame.timestamp()) * 1000)

    async def main(self):
        await asyncio.gather(*(self.client(i) for i in range(SUBSCRIBERS)))


class StatusPage(threading.Thread):
    """What an open status page asks for: the device list and previews every second, /metrics every 5 s."""

    def __init__(self, hub, devices):
        super().__init__(daemon=True)
        self.hub, self.devices, self.stop, self.requests = hub, devices, False, 0

    def run(self):
        tick = 0
        while not self.stop:
            try:
                self.hub.request("GET", "/api/v1/devices")
                for device in self.devices:
                    try:
                        self.hub.request("GET", f"/api/v1/devices/{device}/preview.jpg")
                    except Exception:
                        pass
                if tick % 5 == 0:
                    self.hub.request("GET", "/metrics")
                self.requests += 1
            except Exception:
                pass
            tick += 1
            time.sleep(1)


class ShopHub(mirror_bench.Hub):
    def __init__(self, binary, work, config):
        self.port = free_port()
        self.start(binary, work, run_args(work / "state", config, self.port))


def run_shop(binary, name, make_config, seconds, warmup):
    with tempfile.TemporaryDirectory(prefix="shop-bench-") as tmp:
        work = Path(tmp)
        port = free_port()
        config = make_config(work, port) if make_config else None
        hub = ShopHub(binary, work, config)
        devices = ["kiosk-pickup", "kiosk-aisle", "mirror-beauty"]
        try:
            subscribers = Subscribers(hub.port, hub.token)
            subscribers.start()
            ticket = json.loads(hub.request("POST", "/api/v1/mirrors/mirror-beauty/ticket"))
            watcher = StreamWatcher(hub.port, ticket["url"])
            watcher.start()
            page = StatusPage(hub, devices)
            page.start()
            time.sleep(warmup)
            subscribers.measuring = True
            m0, cpu0, t0 = hub.metrics(), proc_cpu_seconds(hub.proc.pid), time.monotonic()
            time.sleep(seconds)
            m1, cpu1, t1 = hub.metrics(), proc_cpu_seconds(hub.proc.pid), time.monotonic()
            subscribers.measuring = False
            rss = proc_rss_mb(hub.proc.pid)
            subscribers.stop = watcher.stop = page.stop = True
        finally:
            hub.stop()
    elapsed = t1 - t0

    def rate(metric, device):
        key = (metric, frozenset({("device", device)}))
        return round((m1.get(key, 0) - m0.get(key, 0)) / elapsed, 2)

    buckets, _, count = window(histogram(m0, "storehub_mirror_capture_to_stream_seconds", device="mirror-beauty"),
                               histogram(m1, "storehub_mirror_capture_to_stream_seconds", device="mirror-beauty"))
    p50, p99 = quantile(buckets, count, 0.5), quantile(buckets, count, 0.99)
    latencies = sorted(subscribers.scan_latencies)
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1) if latencies else None
    return {
        "hub": name, "cpuCores": round((cpu1 - cpu0) / elapsed, 3), "rssMB": round(rss, 1),
        "devices": {d: {"deliveredFps": rate("storehub_device_frames_delivered_total", d),
                        "processedFps": rate("storehub_device_frames_processed_total", d)} for d in devices},
        "mirrorRenderedFps": rate("storehub_mirror_frames_rendered_total", "mirror-beauty") if count else None,
        "mirrorCaptureToStreamMsP50": round(p50 * 1000, 1) if p50 is not None else None,
        "mirrorCaptureToStreamMsP99": round(p99 * 1000, 1) if p99 is not None else None,
        "scans": len(latencies), "scanLatencyMsP50": pick(0.5), "scanLatencyMsP99": pick(0.99),
        "busEventsPerSecondPerSubscriber": round(subscribers.events / elapsed / SUBSCRIBERS, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    for needed in (REPO / ".cache/models/face_landmark.tflite", REPO / ".cache/faces/grace_hopper.jpg",
                   REPO / "Assets/demo/media/manifest.json"):
        if not needed.exists():
            sys.exit(f"{needed} is missing: run scripts/fetch-assets and scripts/gen-demo-media")
    results = []
    if not args.skip_baseline:
        results.append(run_shop(args.binary, "demo store as shipped (8 fps)", None, args.seconds, args.warmup))
        print(json.dumps(results[-1]), flush=True)
    results.append(run_shop(args.binary, "shop at real rates (30 fps)", shop_config, args.seconds, args.warmup))
    print(json.dumps(results[-1]), flush=True)
    shop = results[-1]
    print()
    for result in results:
        devices = ", ".join(f"{d} {v['deliveredFps']}/{v['processedFps']}" for d, v in result["devices"].items())
        print(f"{result['hub']}: {result['cpuCores']} cores, {result['rssMB']} MB RSS; delivered/processed fps "
              f"{devices}; scans {result['scans']} p50 {result['scanLatencyMsP50']} ms p99 "
              f"{result['scanLatencyMsP99']} ms; mirror {result['mirrorRenderedFps']} fps, capture->stream p50 "
              f"{result['mirrorCaptureToStreamMsP50']} ms p99 {result['mirrorCaptureToStreamMsP99']} ms")
    goals = {"total <= 1.0 core": shop["cpuCores"] <= 1.0,
             "mirror >= 30 fps": (shop["mirrorRenderedFps"] or 0) >= 29.1,
             "scan p99 <= 100 ms": shop["scanLatencyMsP99"] is not None and shop["scanLatencyMsP99"] <= 100}
    print("goals: " + "; ".join(f"{goal}: {'met' if ok else 'NOT met'}" for goal, ok in goals.items()))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
