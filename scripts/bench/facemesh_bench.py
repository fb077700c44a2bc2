#!/usr/bin/env python3
"""StoreHub's `make bench-facemesh`: the native face pipeline against MediaPipe's Python pipeline, same images,
same run, one core each.

Both sides run pinned to CPU 0. Figures are milliseconds per frame (median) on each portrait:
  detector             the face detector alone (MediaPipe: solutions.face_detection, short range)
  landmarks, tracking  the mesh from the previous frame's landmarks, no detector: the mirror's steady state
                       (MediaPipe: solutions.face_mesh in video mode on the same frame repeated)
  detector+landmarks   both on every frame (MediaPipe: solutions.face_mesh in static image mode)
  NV12 tracking        StoreHub only: tracking on a camera-style NV12 frame (colour conversion included)
The ratio is StoreHub / MediaPipe (below 1: StoreHub is faster). Rendering is not part of these figures.

Run with the reference environment from the repo root (scripts/setup-mediapipe makes it):
    .venv-mediapipe/bin/python scripts/bench/facemesh_bench.py --binary .build/release/facemesh-bench
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOAL_MS = 15.0


def timed(iterations, body):
    """Median milliseconds per call: wall clock, and the process's CPU time (all its threads)."""
    wall, cpu = [], []
    for _ in range(iterations):
        start, start_cpu = time.perf_counter(), time.process_time()
        body()
        cpu.append((time.process_time() - start_cpu) * 1e3)
        wall.append((time.perf_counter() - start) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def mediapipe_figures(ppm: Path, iterations: int) -> dict:
    import mediapipe as mp
    import numpy as np

    data = ppm.read_bytes()
    header = data.split(b"\n", 3)
    width, height = (int(v) for v in header[1].split())
    rgb = np.frombuffer(header[3], dtype=np.uint8, count=width * height * 3).reshape(height, width, 3)
    with mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as detector:
        detector.process(rgb)
        detect = timed(iterations, lambda: detector.process(rgb))
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1) as mesh:
        assert mesh.process(rgb).multi_face_landmarks, f"MediaPipe found no face in {ppm.name}"
        tracking = timed(iterations, lambda: mesh.process(rgb))
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        mesh.process(rgb)
        every = timed(iterations, lambda: mesh.process(rgb))
    figures = {}
    for key, (wall, cpu) in (("detector", detect), ("landmarks_tracking", tracking), ("detector_and_landmarks", every)):
        figures[f"{key}_ms"] = wall
        figures[f"{key}_cpu_ms"] = cpu
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="append", default=[], metavar="LABEL=PATH",
                        help="a facemesh-bench binary and a name for its build (repeatable)")
    parser.add_argument("--kernels", action="append", default=[], metavar="SET",
                        help="also run each build on this kernel set (portable, avx2+fma) instead of the one it "
                             "picks for this CPU at start (repeatable)")
    parser.add_argument("--cache", type=Path, default=REPO / ".cache")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    images = sorted((args.cache / "facemesh-layers" / "faces").glob("*.ppm"))
    if not images:
        sys.exit("facemesh_bench: no portraits in .cache/facemesh-layers/faces; run scripts/install-deps")
    builds = [entry.split("=", 1) for entry in args.build or [f"default={REPO / '.build/release/facemesh-bench'}"]]
    results = {}
    for label, binary in builds:
        if not Path(binary).exists():
            sys.exit(f"facemesh_bench: {binary} is missing; build it with swift build -c release")
        for kernels in [None] + args.kernels:
            command = ["taskset", "-c", "0", binary, "--models", str(args.cache / "models"),
                       "--iterations", str(args.iterations)] + [str(p) for p in images]
            if kernels:
                command[4:4] = ["--kernels", kernels]
            ours = {}
            for line in subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines():
                figures = json.loads(line)
                ours[figures["image"]] = figures
            results[f"{label}, kernels {kernels} (forced)" if kernels else label] = ours

    os.sched_setaffinity(0, {0})
    os.environ.setdefault("GLOG_minloglevel", "2")
    theirs = {p.stem: mediapipe_figures(p, args.iterations) for p in images}
    for label, ours in results.items():
        report(label, ours, theirs)
    if args.json:
        args.json.write_text(json.dumps({"storehub": results, "mediapipe": theirs}, indent=2) + "\n")


def report(build: str, ours: dict, theirs: dict) -> None:
    kernels = sorted({f.get("kernels", "?") for f in ours.values()})
    print(f"\nStoreHub build: {build}; face kernels in use: {', '.join(kernels)}")
    rows = [("detector", "detector"), ("landmarks, tracking", "landmarks_tracking"),
            ("detector+landmarks", "detector_and_landmarks")]
    print(f"{'image':<14} {'stage':<22} {'StoreHub ms':>12} {'MediaPipe ms':>13} {'ratio':>6}"
          f" {'StoreHub CPU':>13} {'MediaPipe CPU':>14} {'ratio':>6}")
    for image in ours:
        for label, key in rows:
            a, b = ours[image][f"{key}_ms"], theirs[image][f"{key}_ms"]
            c, d = ours[image][f"{key}_cpu_ms"], theirs[image][f"{key}_cpu_ms"]
            print(f"{image:<14} {label:<22} {a:12.2f} {b:13.2f} {a / b:6.2f} {c:13.2f} {d:14.2f} {c / max(d, 1e-3):6.2f}")
        print(f"{image:<14} {'NV12 tracking':<22} {ours[image]['nv12_landmarks_tracking_ms']:12.2f} {'-':>13} {'-':>6}"
              f" {ours[image]['nv12_landmarks_tracking_cpu_ms']:13.2f}")
        if not ours[image]["found"]:
            print(f"{image:<14} WARNING: StoreHub lost the face during the run")
    worst = max(f["landmarks_tracking_cpu_ms"] for f in ours.values())
    print("ratio = StoreHub / MediaPipe; CPU = the process's CPU time per frame (the machine may be shared)")
    print(f"goal: landmarks per frame <= {GOAL_MS} ms; worst tracking CPU figure {worst:.2f} ms "
          f"({'met' if worst <= GOAL_MS else 'NOT met'})")


if __name__ == "__main__":
    main()
