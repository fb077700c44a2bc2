#!/usr/bin/env python3
"""Generates StoreHub's face reference fixtures with MediaPipe's own Python face mesh.

For every portrait in .cache/faces/ this writes Tests/Fixtures/faces/<stem>.json:

  {"image": "grace_hopper.jpg", "width": 512, "height": 600,
   "generator": {...versions and options...},
   "landmarks": [[x, y, z], ... 468 points]}

x and y are pixels in the image (origin top left, x right, y down); z is MediaPipe's relative depth
scaled by the image width as MediaPipe does for x. These are the reference for the lip mask in the
try-on quality tests and for the native face-landmark pipeline's end-to-end test.

Run it inside the reference environment:
  scripts/setup-mediapipe && .venv-mediapipe/bin/python scripts/reference/face_landmarks.py
"""

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=Path, default=REPO / ".cache" / "faces")
    parser.add_argument("--out", type=Path, default=REPO / "Tests" / "Fixtures" / "faces")
    args = parser.parse_args()

    try:
        import mediapipe
        import numpy
        from PIL import Image
    except ImportError as error:
        sys.exit(f"face_landmarks: {error}; run it with .venv-mediapipe/bin/python (scripts/setup-mediapipe)")

    images = sorted(p for p in args.faces.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not images:
        sys.exit(f"face_landmarks: no portraits in {args.faces}; run scripts/fetch-assets")
    args.out.mkdir(parents=True, exist_ok=True)

    options = {"static_image_mode": True, "max_num_faces": 1, "refine_landmarks": False,
               "min_detection_confidence": 0.5}
    with mediapipe.solutions.face_mesh.FaceMesh(**options) as mesh:
        for path in images:
            rgb = numpy.asarray(Image.open(path).convert("RGB"))
            height, width = rgb.shape[:2]
            result = mesh.process(rgb)
            if not result.multi_face_landmarks:
                sys.exit(f"face_landmarks: MediaPipe found no face in {path.name}")
            points = result.multi_face_landmarks[0].landmark
            fixture = {
                "image": path.name,
                "width": width,
                "height": height,
                "generator": {
                    "tool": "scripts/reference/face_landmarks.py",
                    "mediapipe": mediapipe.__version__,
                    "solution": "face_mesh",
                    "options": options,
                },
                "landmarks": [
                    [round(p.x * width, 3), round(p.y * height, 3), round(p.z * width, 3)] for p in points
                ],
            }
            target = args.out / f"{path.stem}.json"
            target.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
            print(f"face_landmarks: {target.relative_to(REPO)}: {len(points)} landmarks")


if __name__ == "__main__":
    main()
