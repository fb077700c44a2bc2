"""Writes the camera payload's test video for vivid's loopback: demo frames that hold codes, scaled to
720x576 (PAL), as raw YUYV and raw GREY, each frame repeated so a code stays in view for a moment.

Only codes that zbarimg still reads at this size are expected (expected.txt, one payload a line): the test
is about capture, not about decoding small codes.

Also frames.dmgrey: a product box with a GS1 DataMatrix (GTIN, expiry, batch, serial; made by Debian's
zint) held up to the camera, sliding in and then still, and dm-expected.txt with its elements, "AI VALUE"
a line.

usage: gen_camera_frames.py OUTPUT_DIR REPO
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

WIDTH, HEIGHT, REPEAT = 720, 576, 6


def main() -> None:
    out, repo = Path(sys.argv[1]), Path(sys.argv[2])
    media = repo / "Assets" / "demo" / "media"
    manifest = json.loads((media / "manifest.json").read_text())
    frames, expected = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for device in ("kiosk-pickup", "kiosk-aisle"):
            for entry in manifest["devices"][device]["frames"]:
                if len(entry["codes"]) != 1:
                    continue
                grey = Image.open(media / device / entry["file"]).convert("L")
                scaled = grey.resize((WIDTH, WIDTH * grey.height // grey.width), Image.LANCZOS)
                canvas = Image.new("L", (WIDTH, HEIGHT), 128)
                canvas.paste(scaled, (0, (HEIGHT - scaled.height) // 2))
                probe = Path(scratch) / "probe.pgm"
                canvas.save(probe)
                read = subprocess.run(
                    ["zbarimg", "-q", "--raw", "-Sqrcode.binary", str(probe)], capture_output=True).stdout
                text = entry["codes"][0]["text"]
                # zbarimg enables UPC-A, so it reads a 0-led EAN-13 as 12 digits; the hub (no UPC-A) as 13.
                if read.strip() not in (text.encode(), text[1:].encode()):
                    continue
                frames.append(np.asarray(canvas, dtype=np.uint8))
                expected.append(text)
                if len(frames) >= 6:
                    break
    if len(frames) < 3:
        sys.exit(f"only {len(frames)} demo frames still decode at {WIDTH}x{HEIGHT}; expected at least 3")
    with open(out / "frames.grey", "wb") as grey_file, open(out / "frames.yuyv", "wb") as yuyv_file:
        for luma in frames:
            yuyv = np.empty((HEIGHT, WIDTH * 2), dtype=np.uint8)
            yuyv[:, 0::2] = luma
            yuyv[:, 1::2] = 128
            for _ in range(REPEAT):
                grey_file.write(luma.tobytes())
                yuyv_file.write(yuyv.tobytes())
    (out / "expected.txt").write_text("".join(f"{text}\n" for text in expected))
    box_frames(out)
    print(f"camera payload: {len(frames)} frames with codes, {len(frames) * REPEAT} frames per loop")


BOX_ELEMENTS = [("01", "04012345678901"), ("17", "271130"), ("10", "LOT7Q2"), ("21", "SN0042XK")]


def box_frames(out: Path) -> None:
    """A lipstick box (a light card with printed lines) with a GS1 DataMatrix, on a grey counter."""
    with tempfile.TemporaryDirectory() as scratch:
        code = Path(scratch) / "dm.png"
        data = "".join(f"[{ai}]{value}" for ai, value in BOX_ELEMENTS)
        subprocess.run(["zint", "-b", "71", "--gs1", "--scale=2", "-o", str(code), "-d", data], check=True)
        matrix = Image.open(code).convert("L")
    box = Image.new("L", (300, 200), 225)
    for row in range(5):
        box.paste(60, (20, 20 + row * 16, 100 + (row * 37) % 40, 26 + row * 16))
    box.paste(matrix, (300 - matrix.width - 24, 200 - matrix.height - 24))
    rng = np.random.default_rng(7)
    frames = []
    for shift in (240, 160, 80, 0, 0, 0, 0, 0):
        canvas = Image.new("L", (WIDTH, HEIGHT), 110)
        canvas.paste(box, (210 + shift, 190))
        noisy = np.asarray(canvas, np.float32) + rng.normal(0, 3, (HEIGHT, WIDTH))
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    with open(out / "frames.dmgrey", "wb") as grey_file:
        for luma in frames:
            for _ in range(REPEAT):
                grey_file.write(luma.tobytes())
    (out / "dm-expected.txt").write_text("".join(f"{ai} {value}\n" for ai, value in BOX_ELEMENTS))


if __name__ == "__main__":
    main()
