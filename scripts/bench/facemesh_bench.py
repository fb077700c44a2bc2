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
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        body()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


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
    return {"detector_ms": detect, "landmarks_tracking_ms": tracking, "detector_and_landmarks_ms": every}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, default=REPO / ".build/release/facemesh-bench")
    parser.add_argument("--cache", type=Path, default=REPO / ".cache")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    images = sorted((args.cache / "facemesh-layers" / "faces").glob("*.ppm"))
    if not images:
        sys.exit("facemesh_bench: no portraits in .cache/facemesh-layers/faces; run make facemesh-reference")
    if not args.binary.exists():
        sys.exit(f"facemesh_bench: {args.binary} is missing; build it with swift build -c release")

    command = ["taskset", "-c", "0", str(args.binary), "--models", str(args.cache / "models"),
               "--iterations", str(args.iterations)] + [str(p) for p in images]
    ours = {}
    for line in subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines():
        figures = json.loads(line)
        ours[figures["image"]] = figures

    os.sched_setaffinity(0, {0})
    os.environ.setdefault("GLOG_minloglevel", "2")
    theirs = {p.stem: mediapipe_figures(p, args.iterations) for p in images}

    rows = [("detector", "detector_ms"), ("landmarks, tracking", "landmarks_tracking_ms"),
            ("detector+landmarks", "detector_and_landmarks_ms")]
    print(f"{'image':<14} {'stage':<22} {'StoreHub ms':>12} {'MediaPipe ms':>13} {'ratio':>7}")
    for image in ours:
        for label, key in rows:
            a, b = ours[image][key], theirs[image][key]
            print(f"{image:<14} {label:<22} {a:12.2f} {b:13.2f} {a / b:7.2f}")
        print(f"{image:<14} {'NV12 tracking':<22} {ours[image]['nv12_landmarks_tracking_ms']:12.2f} {'-':>13} {'-':>7}")
        if not ours[image]["found"]:
            print(f"{image:<14} WARNING: StoreHub lost the face during the run")
    worst = max(f["landmarks_tracking_ms"] for f in ours.values())
    print(f"goal: landmarks per frame <= {GOAL_MS} ms; worst tracking figure {worst:.2f} ms "
          f"({'met' if worst <= GOAL_MS else 'NOT met'})")
    if args.json:
        args.json.write_text(json.dumps({"storehub": ours, "mediapipe": theirs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
