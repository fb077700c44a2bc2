#!/usr/bin/env python3
"""Try-on renderer benchmark: StoreHub against an equivalent OpenCV pipeline, one core, 1280x720, same run.

The frame is the portrait from .cache/faces (scripts/fetch-assets) scaled onto a 1280x720 canvas, and its lips
come from the MediaPipe reference mesh in Tests/Fixtures/faces, moved the same way. Both sides start from the
same NV12 frame (what a mirror camera delivers) and do the same work per frame:

  convert  StoreHub: NV12 chroma into the JPEG encoder's planes (the renderer itself needs no conversion);
           OpenCV: cvtColor NV12 -> BGR (what imencode takes)
  mask     lip polygon (outer minus inner), anti-aliased, feathered: StoreHub's rasteriser and box blur;
           OpenCV: fillPoly with LINE_AA at 1/16 pixel, GaussianBlur, on the lips' region of interest
  blend    chroma to the shade, luma to its level keeping texture: StoreHub in place on YCbCr;
           OpenCV: BGR -> YCrCb on the region, float blend with the mask, YCrCb -> BGR
  encode   JPEG quality 80: libjpeg-turbo from YCbCr planes; OpenCV imencode
  frame    StoreHub: the whole mirror frame without the locator (render with smoothing and fading, then JPEG);
           OpenCV: the four steps in a row

Then what the mirror screen adds, the before/after line in the middle of the frame and the evening lighting preset:

  render            StoreHub: the renderer alone (mask and blend with smoothing), the shade everywhere, neutral
                    light: the renderer before the mirror screen; OpenCV: mask and blend
  light             the lighting preset over the whole frame: StoreHub's tables on Y and on Cb/Cr in place;
                    OpenCV: cv2.LUT with a three-channel table on the BGR frame
  renderSplitLight  StoreHub: the renderer with the split line, then lighting (in YUV, as the camera gave it);
                    OpenCV: NV12 -> BGR, mask with the columns right of the line cleared, blend, LUT
  frameSplitLight   the same, then JPEG

Both are pinned to one CPU (sched_setaffinity, cv2.setNumThreads(1)) and timed in thread CPU time, so other
processes on a shared machine do not count. Medians of --frames frames.
Usage: scripts/bench/tryon_bench.py --binary .build/release/storehub-tryon-bench [--frames 300]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 1280, 720
OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95]


def make_frame(work):
    fixture = json.loads((REPO / "Tests/Fixtures/faces/grace_hopper.json").read_text())
    portrait = Image.open(REPO / ".cache/faces" / fixture["image"]).convert("RGB")
    scale = HEIGHT / portrait.height
    scaled = portrait.resize((round(portrait.width * scale), HEIGHT), Image.BILINEAR)
    offset = (WIDTH - scaled.width) // 2
    canvas = Image.new("RGB", (WIDTH, HEIGHT), (70, 80, 95))
    canvas.paste(scaled, (offset, 0))
    landmarks = [[x * scale + offset, y * scale, z * scale] for x, y, z in fixture["landmarks"]]
    image_path = work / "frame.png"
    canvas.save(image_path)
    mesh_path = work / "frame-landmarks.json"
    mesh_path.write_text(json.dumps({"width": WIDTH, "height": HEIGHT, "landmarks": landmarks}))
    return np.asarray(canvas), landmarks, image_path, mesh_path


def to_nv12(rgb):
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    y = i420[:HEIGHT]
    u = i420[HEIGHT:HEIGHT + HEIGHT // 4].reshape(HEIGHT // 2, WIDTH // 2)
    v = i420[HEIGHT + HEIGHT // 4:].reshape(HEIGHT // 2, WIDTH // 2)
    uv = np.empty((HEIGHT // 2, WIDTH), np.uint8)
    uv[:, 0::2] = u
    uv[:, 1::2] = v
    return np.vstack([y, uv])


def evening_lut():
    """A BGR table for the evening preset: dimmer, a gamma, warmer (blue down, red up)."""
    values = np.arange(256, dtype=np.float64) / 255
    lit = np.power(np.clip(values * 0.8, 0, 1), 1.1) * 255
    table = np.stack([lit - 14, lit, lit + 12], axis=-1)  # B, G, R
    return np.clip(np.round(table), 0, 255).astype(np.uint8).reshape(1, 256, 3)


def opencv_pipeline(nv12, landmarks, shade_rgb, opacity, frames):
    outer = np.array([[landmarks[i][0], landmarks[i][1]] for i in OUTER])
    inner = np.array([[landmarks[i][0], landmarks[i][1]] for i in INNER])
    width = outer[:, 0].max() - outer[:, 0].min()
    feather = max(1, min(8, round(width * 0.02)))
    ksize = 4 * feather + 1  # covers what two box passes of radius `feather` cover
    margin = 2 * feather + 1
    x0 = max(0, int(outer[:, 0].min()) - margin)
    y0 = max(0, int(outer[:, 1].min()) - margin)
    x1 = min(WIDTH, int(outer[:, 0].max()) + margin + 1)
    y1 = min(HEIGHT, int(outer[:, 1].max()) + margin + 1)
    shift = 4
    outer_fixed = np.round((outer - [x0, y0]) * (1 << shift)).astype(np.int32)
    inner_fixed = np.round((inner - [x0, y0]) * (1 << shift)).astype(np.int32)
    target = cv2.cvtColor(np.uint8([[shade_rgb[::-1]]]), cv2.COLOR_BGR2YCrCb)[0, 0].astype(np.float32)
    times = {name: [] for name in ("convert", "mask", "blend", "encode", "frame", "render", "light",
                                   "renderSplitLight", "frameSplitLight")}
    lut = evening_lut()
    split_column = WIDTH // 2 - x0  # the line in the middle of the frame, in the region's columns

    def make_mask(split):
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [outer_fixed], 255, cv2.LINE_AA, shift)
        cv2.fillPoly(mask, [inner_fixed], 0, cv2.LINE_AA, shift)
        mask = cv2.GaussianBlur(mask, (ksize, ksize), 0)
        if split:
            mask[:, max(0, split_column):] = 0
        return mask

    def blend(bgr, mask):
        roi = bgr[y0:y1, x0:x1]
        ycc = cv2.cvtColor(roi, cv2.COLOR_BGR2YCrCb).astype(np.float32)
        alpha = (mask.astype(np.float32) * (opacity / 255.0))[..., None]
        weights = alpha[..., 0]
        mean_y = float((ycc[..., 0] * weights).sum() / max(weights.sum(), 1e-6))
        shaded = np.empty_like(ycc)
        shaded[..., 0] = ycc[..., 0] + (target[0] - mean_y)
        shaded[..., 1] = target[1]
        shaded[..., 2] = target[2]
        blended = ycc + alpha * (shaded - ycc)
        bgr[y0:y1, x0:x1] = cv2.cvtColor(np.clip(blended, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2BGR)

    def render(bgr, split):
        blend(bgr, make_mask(split))

    for index in range(frames + 10):
        t0 = time.thread_time()
        bgr = cv2.cvtColor(nv12, cv2.COLOR_YUV2BGR_NV12)
        t1 = time.thread_time()
        mask = make_mask(False)
        t2 = time.thread_time()
        blend(bgr, mask)
        t3 = time.thread_time()
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])
        t4 = time.thread_time()
        assert ok
        bgr = cv2.cvtColor(nv12, cv2.COLOR_YUV2BGR_NV12)
        r0 = time.thread_time()
        render(bgr, split=False)
        r1 = time.thread_time()
        cv2.LUT(bgr, lut, dst=bgr)
        r2 = time.thread_time()
        s0 = time.thread_time()
        bgr = cv2.cvtColor(nv12, cv2.COLOR_YUV2BGR_NV12)
        render(bgr, split=True)
        cv2.LUT(bgr, lut, dst=bgr)
        s1 = time.thread_time()
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])
        s2 = time.thread_time()
        assert ok
        if index < 10:
            continue
        for name, start, end in (("convert", t0, t1), ("mask", t1, t2), ("blend", t2, t3), ("encode", t3, t4),
                                 ("frame", t0, t4), ("render", r0, r1), ("light", r1, r2),
                                 ("renderSplitLight", s0, s1), ("frameSplitLight", s0, s2)):
            times[name].append((end - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}, len(jpeg)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(REPO / ".build/release/storehub-tryon-bench"))
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--shade", default="LS-101")
    parser.add_argument("--cpu", type=int, default=0, help="the CPU both sides are pinned to")
    args = parser.parse_args()
    if not (REPO / ".cache/faces/grace_hopper.jpg").exists():
        sys.exit("tryon_bench: .cache/faces/grace_hopper.jpg is missing; run scripts/fetch-assets")
    work = REPO / ".cache" / "bench-tryon"
    work.mkdir(parents=True, exist_ok=True)
    rgb, landmarks, image_path, mesh_path = make_frame(work)
    os.sched_setaffinity(0, {args.cpu})
    cv2.setNumThreads(1)
    ours = json.loads(subprocess.run(
        ["taskset", "-c", str(args.cpu), args.binary, "--image", str(image_path),
         "--landmarks", str(mesh_path), "--frames", str(args.frames), "--shade", args.shade,
         "--catalog", str(REPO / "Assets/shades.json")],
        check=True, capture_output=True, text=True, cwd=REPO).stdout)
    catalog = {s["sku"]: s for s in json.loads((REPO / "Assets/shades.json").read_text())["shades"]}
    shade = catalog[args.shade]
    shade_rgb = [int(shade["color"][i:i + 2], 16) for i in (1, 3, 5)]
    theirs, jpeg_bytes = opencv_pipeline(to_nv12(rgb), landmarks, shade_rgb, shade["opacity"], args.frames)

    print(f"try-on, {WIDTH}x{HEIGHT}, one core (CPU {args.cpu}), thread CPU time, median of {args.frames} frames, "
          f"OpenCV {cv2.__version__}")
    print(f"{'step':<18}{'StoreHub ms':>14}{'OpenCV ms':>12}{'OpenCV/StoreHub':>18}")
    for name in ("convert", "mask", "blend", "encode", "frame", "render", "light", "renderSplitLight",
                 "frameSplitLight"):
        mine = ours[name + "Ms"]
        print(f"{name:<18}{mine:>14.3f}{theirs[name]:>12.3f}{theirs[name] / max(mine, 1e-6):>17.1f}x")
    mask_blend = ours["maskMs"] + ours["blendMs"]
    print(f"BENCH tryon mask+blend {mask_blend:.3f} ms (goal <= 2), frame without locator {ours['frameMs']:.3f} ms "
          f"(goal <= 8), OpenCV frame {theirs['frame']:.3f} ms; JPEG {ours['jpegBytes']} B vs {jpeg_bytes} B")
    print(f"BENCH tryon mirror screen: renderer with split line and evening light {ours['renderSplitLightMs']:.3f} ms "
          f"per frame without the locator (goal <= 3), the renderer without them {ours['renderMs']:.3f} ms, OpenCV "
          f"{theirs['renderSplitLight']:.3f} ms "
          f"({theirs['renderSplitLight'] / max(ours['renderSplitLightMs'], 1e-6):.1f}x); "
          f"with JPEG {ours['frameSplitLightMs']:.3f} ms vs OpenCV {theirs['frameSplitLight']:.3f} ms")


if __name__ == "__main__":
    main()
