#!/usr/bin/env python3
"""Mirror benchmark: one try-on mirror in the real hub, fed camera-like frames at 30 fps, native landmarks on.

Each case runs its own hub (`storehub run`) with one mirror whose camera is a replay source playing the portrait
from .cache/faces as a USB camera delivers it (`camera.format` on a replay camera): MJPEG frames with 4:2:2 chroma
and no Huffman tables, decoded per frame as a V4L2 camera's are, or packed YUYV used in place. NV12 frames (what a
mirror camera had to deliver before) are the baseline, at the same size, in the same run. The stream is watched
(one MJPEG client at the mirror's full rate) for the whole run.

After a warm-up (model load, first detection), for --seconds the script reads the hub's CPU time from /proc and
the mirror's frame budget from /metrics (storehub_mirror_*): rendered fps, CPU share of one core, mean time per
stage and capture-to-stream p50/p99 (interpolated inside the histogram's buckets).

Goals (issue 18): 30 fps at 1280x720 on at most half a core, 1920x1080 on at most one core, capture-to-stream p99
at most 50 ms at 1280x720.

Usage: scripts/bench/mirror_bench.py --binary .build/release/storehub [--seconds 20] [--json OUT]
"""

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from hublauncher import HubProcess, run_args, write_config  # noqa: E402

HOST = "127.0.0.1"
MIRROR = "mirror-bench"
CASES = [(1280, 720, "NV12"), (1280, 720, "MJPG"), (1280, 720, "YUYV"),
         (1920, 1080, "NV12"), (1920, 1080, "MJPG"), (1920, 1080, "YUYV")]
GOALS = {720: {"fps": 30, "cores": 0.5, "p99_ms": 50}, 1080: {"fps": 30, "cores": 1.0, "p99_ms": None}}


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def parse_metrics(text):
    """Samples by (name, frozenset of labels)."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        pairs = []
        for part in labels.rstrip("}").split(","):
            if "=" in part:
                key, _, val = part.partition("=")
                pairs.append((key, val.strip('"')))
        samples[(name, frozenset(pairs))] = float(value)
    return samples


def histogram(samples, name, **labels):
    """Cumulative buckets [(bound, count)], sum and count of one histogram."""
    want = set(labels.items())
    buckets = []
    for (sample, pairs), value in samples.items():
        if sample == name + "_bucket" and want <= set(pairs):
            bound = dict(pairs)["le"]
            buckets.append((float("inf") if bound == "+Inf" else float(bound), value))
    buckets.sort()
    key = frozenset(want)
    return buckets, samples.get((name + "_sum", key), 0.0), samples.get((name + "_count", key), 0.0)


def window(before, after):
    """The observations between two readings of one histogram."""
    (b0, s0, c0), (b1, s1, c1) = before, after
    return [(bound, v1 - v0) for (bound, v0), (_, v1) in zip(b0, b1)], s1 - s0, c1 - c0


def quantile(buckets, count, q):
    if count <= 0:
        return None
    rank = q * count
    lower, below = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank and cumulative > below:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / (cumulative - below)
        lower, below = bound, cumulative
    return lower


class StreamWatcher(threading.Thread):
    """One MJPEG client reading the mirror's stream as a screen would; counts the JPEGs it got."""

    def __init__(self, port, path):
        super().__init__(daemon=True)
        self.port, self.path, self.frames, self.stop = port, path, 0, False

    def run(self):
        sock = socket.create_connection((HOST, self.port), timeout=30)
        sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n\r\n".encode())
        data = b""
        while not self.stop:
            try:
                chunk = sock.recv(1 << 20)
            except socket.timeout:  # the mirror is still opening its camera
                continue
            if not chunk:
                break
            data = (data + chunk)[-4:]
            self.frames += chunk.count(b"\xff\xd9")
        sock.close()


class Hub:
    def __init__(self, binary, work, width, height, fmt, models, portrait):
        self.port = free_port()
        catalog = json.loads((REPO / "Assets" / "shades.json").read_text())
        config = write_config(work / "hub", {
            "hub": "bench", "listen": {"host": HOST, "port": self.port},
            "shades": str(REPO / "Assets" / "shades.json"), "models": str(models)}, devices=[{
                "id": MIRROR, "kind": "mirror",
                "camera": {"type": "replay", "path": str(portrait), "fps": 30, "format": fmt,
                           "width": width, "height": height},
                "mirror": {"defaultShade": catalog["shades"][0]["sku"], "streamFps": 30}}])
        self.start(binary, work, run_args(work / "state", config, self.port))

    def start(self, binary, work, args):
        """Runs `storehub ARGS` and waits for its status page line; keeps the admin token it prints."""
        self.hub = HubProcess(binary, args, work, "storehub", die_with_parent=True).wait_ready(60)
        self.proc, self.token = self.hub.process, self.hub.admin_token

    def request(self, method, path):
        req = urllib.request.Request(f"http://{HOST}:{self.port}{path}", method=method,
                                     headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.read()

    def metrics(self):
        return parse_metrics(self.request("GET", "/metrics").decode())

    def stop(self):
        self.hub.stop(20)


def run_case(binary, width, height, fmt, seconds, warmup, models, portrait):
    with tempfile.TemporaryDirectory(prefix="mirror-bench-") as tmp:
        work = Path(tmp)
        hub = Hub(binary, work, width, height, fmt, models, portrait)
        try:
            ticket = json.loads(hub.request("POST", f"/api/v1/mirrors/{MIRROR}/ticket"))
            watcher = StreamWatcher(hub.port, ticket["url"])
            watcher.start()
            time.sleep(warmup)
            if "no native face landmarks" in hub.hub.stderr_text():
                raise RuntimeError("the hub runs without native landmarks (models missing?)")
            m0, cpu0, t0, streamed0 = hub.metrics(), proc_cpu_seconds(hub.proc.pid), time.monotonic(), watcher.frames
            time.sleep(seconds)
            m1, cpu1, t1, streamed1 = hub.metrics(), proc_cpu_seconds(hub.proc.pid), time.monotonic(), watcher.frames
            rss = proc_rss_mb(hub.proc.pid)
            watcher.stop = True
        finally:
            hub.stop()
    elapsed = t1 - t0
    device = (("device", MIRROR),)

    def delta(name):
        key = (name, frozenset(device))
        return m1.get(key, 0) - m0.get(key, 0)

    rendered = delta("storehub_mirror_frames_rendered_total")
    stages = {}
    for stage in ("capture", "landmarks", "render", "encode"):
        _, total, count = window(histogram(m0, "storehub_mirror_stage_seconds", device=MIRROR, stage=stage),
                                 histogram(m1, "storehub_mirror_stage_seconds", device=MIRROR, stage=stage))
        stages[stage] = round(total / count * 1000, 2) if count else None
    buckets, _, count = window(histogram(m0, "storehub_mirror_capture_to_stream_seconds", device=MIRROR),
                               histogram(m1, "storehub_mirror_capture_to_stream_seconds", device=MIRROR))
    p50, p99 = quantile(buckets, count, 0.5), quantile(buckets, count, 0.99)
    cpu = cpu1 - cpu0
    return {
        "width": width, "height": height, "format": fmt,
        "renderedFps": round(rendered / elapsed, 2),
        "framesIn": delta("storehub_mirror_frames_in_total"), "dropped": delta("storehub_mirror_frames_dropped_total"),
        "streamedFps": round((streamed1 - streamed0) / elapsed, 2),
        "cpuCores": round(cpu / elapsed, 3),
        "cpuMsPerFrame": round(cpu / rendered * 1000, 2) if rendered else None,
        "stageMs": stages,
        "captureToStreamMsP50": round(p50 * 1000, 1) if p50 is not None else None,
        "captureToStreamMsP99": round(p99 * 1000, 1) if p99 is not None else None,
        "rssMB": round(rss, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=8)
    parser.add_argument("--only", help="run only cases whose 'WIDTHxHEIGHT FORMAT' contains this")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    models = REPO / ".cache" / "models"
    portrait = REPO / ".cache" / "faces" / "grace_hopper.jpg"
    for needed in (models / "face_landmark.tflite", portrait):
        if not needed.exists():
            sys.exit(f"{needed} is missing: run scripts/fetch-assets")
    results = []
    print(f"mirror benchmark: {args.seconds:.0f} s per case after {args.warmup:.0f} s warm-up, 30 fps camera, "
          f"native landmarks, stream watched; {os.cpu_count()} CPUs")
    for width, height, fmt in CASES:
        if args.only and args.only not in f"{width}x{height} {fmt}":
            continue
        result = run_case(args.binary, width, height, fmt, args.seconds, args.warmup, models, portrait)
        results.append(result)
        print(json.dumps(result), flush=True)
    print()
    print(f"{'case':<16}{'fps':>7}{'cores':>7}{'ms/frame':>9}{'p50 ms':>8}{'p99 ms':>8}  vs NV12 (cores)  goals")
    for result in results:
        base = next((r for r in results if r["format"] == "NV12" and r["height"] == result["height"]), None)
        ratio = f"{result['cpuCores'] / base['cpuCores']:.2f}x" if base and base["cpuCores"] else "-"
        goal = GOALS[result["height"]]
        met = [result["renderedFps"] >= goal["fps"] * 0.97, result["cpuCores"] <= goal["cores"]]
        if goal["p99_ms"] is not None:
            met.append(result["captureToStreamMsP99"] is not None and result["captureToStreamMsP99"] <= goal["p99_ms"])
        print(f"{result['width']}x{result['height']} {result['format']:<5}{result['renderedFps']:>7}"
              f"{result['cpuCores']:>7}{result['cpuMsPerFrame']!s:>9}{result['captureToStreamMsP50']!s:>8}"
              f"{result['captureToStreamMsP99']!s:>8}  {ratio:>15}  {'met' if all(met) else 'NOT met'}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
