"""Writes the mirror part of the camera payload: the portrait from .cache/faces as one 720x576 (PAL) frame in
raw YUYV and NV12 (full-range BT.601, the YCbCr of JPEG and UVC cameras) for vivid's loopback, the face models,
a one-shade catalog, and where the lips are in the frame with their colour before the shade (mirror-lips.txt).

The lip boxes come from the MediaPipe reference mesh of the portrait (Tests/Fixtures/faces): the middle of the
upper lip (between landmarks 0 and 13) and of the lower lip (14 and 17), 8x4 pixels each.

usage: gen_mirror_frames.py OUTPUT_DIR REPO
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 720, 576


def main() -> None:
    out, repo = Path(sys.argv[1]), Path(sys.argv[2])
    fixture = json.loads((repo / "Tests/Fixtures/faces/grace_hopper.json").read_text())
    photo = repo / ".cache/faces" / fixture["image"]
    models = repo / ".cache/models"
    for needed in (photo, models / "face_landmark.tflite", models / "face_detection_short_range.tflite"):
        if not needed.exists():
            sys.exit(f"{needed} is missing: run scripts/fetch-assets")
    portrait = Image.open(photo).convert("RGB")
    scale = HEIGHT / portrait.height
    scaled = portrait.resize((round(portrait.width * scale), HEIGHT), Image.LANCZOS)
    offset = (WIDTH - scaled.width) // 2
    canvas = Image.new("RGB", (WIDTH, HEIGHT), (70, 80, 95))
    canvas.paste(scaled, (offset, 0))
    rgb = np.asarray(canvas).astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = np.clip(np.rint(0.299 * r + 0.587 * g + 0.114 * b), 0, 255).astype(np.uint8)
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    yuyv = np.empty((HEIGHT, WIDTH * 2), dtype=np.uint8)
    yuyv[:, 0::2] = y
    yuyv[:, 1::4] = np.clip(np.rint((cb[:, 0::2] + cb[:, 1::2]) / 2), 0, 255)
    yuyv[:, 3::4] = np.clip(np.rint((cr[:, 0::2] + cr[:, 1::2]) / 2), 0, 255)
    quad = lambda plane: (plane[0::2, 0::2] + plane[0::2, 1::2] + plane[1::2, 0::2] + plane[1::2, 1::2]) / 4
    chroma = np.empty((HEIGHT // 2, WIDTH), dtype=np.uint8)
    chroma[:, 0::2] = np.clip(np.rint(quad(cb)), 0, 255)
    chroma[:, 1::2] = np.clip(np.rint(quad(cr)), 0, 255)
    (out / "frames.mirror-yuyv").write_bytes(yuyv.tobytes())
    (out / "frames.mirror-nv12").write_bytes(y.tobytes() + chroma.tobytes())

    (out / "models").mkdir(exist_ok=True)
    for name in ("face_landmark.tflite", "face_detection_short_range.tflite"):
        shutil.copy(models / name, out / "models" / name)
    points = [(x * scale + offset, py * scale) for x, py, _ in fixture["landmarks"]]
    boxes, before = [], []
    for top, bottom in ((0, 13), (14, 17)):
        cx = round((points[top][0] + points[bottom][0]) / 2)
        cy = round((points[top][1] + points[bottom][1]) / 2)
        box = (cx - 4, cy - 2, 8, 4)
        boxes.append(box)
        before.append(rgb[box[1]:box[1] + 4, box[0]:box[0] + 8].reshape(-1, 3).mean(axis=0))
    lips = np.mean(before, axis=0)
    # The catalog's shade farthest from the lips' own colour, alone in the mirror's catalog.
    catalog = json.loads((repo / "Assets/shades.json").read_text())
    def colour(shade):
        return np.array([int(shade["color"][i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
    shade = max(catalog["shades"], key=lambda s: np.linalg.norm(colour(s) - lips))
    (out / "shades.json").write_text(json.dumps({**catalog, "shades": [shade]}))
    lines = [f"SKU {shade['sku']}", "SHADE " + " ".join(str(int(v)) for v in colour(shade))]
    for box, mean in zip(boxes, before):
        lines.append("BOX " + ",".join(map(str, box)) + " " + " ".join(str(int(round(v))) for v in mean))
    (out / "mirror-lips.txt").write_text("\n".join(lines) + "\n")
    print(f"mirror payload: portrait at {WIDTH}x{HEIGHT}, shade {shade['sku']} {shade['color']}, lips {lips.round()}")


if __name__ == "__main__":
    main()
