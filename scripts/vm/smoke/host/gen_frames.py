"""Writes the smoke payload's test video: raw YUYV 4:2:2 frames for vivid's video loopback.

Each 720x576 frame is a horizontal luma gradient (16 at the left, 235 at the right, chroma 128)
with two marks run.sh checks in the frames captured back from /dev/video0:
  - a counter block, rows 256-319, columns 448-575: luma LEVEL0 + k * LEVEL_STEP in frame k;
  - a white band, rows 512-575, columns 0-359: luma 235 (catches a vertical shift or flip).
vivid draws its status text over the top-left of captured frames unless osd_text_mode=2; the
marks stay clear of it anyway. Also writes frames.env, the numbers run.sh compares against.

usage: gen_frames.py OUTPUT_DIR
"""

import sys
from pathlib import Path

import numpy as np

WIDTH, HEIGHT, FRAMES = 720, 576, 6
LEVEL0, LEVEL_STEP = 40, 30  # counter levels 40, 70, ..., 190
ROW_A, ROW_B = 288, 544  # the rows run.sh reads: through the counter block, through the white band
BLOCK = (slice(256, 320), slice(448, 576))
MID_X = (200, 320)  # gradient part of ROW_A
RIGHT_X = (660, 720)  # gradient part of ROW_B
WHITE_X = (0, 300)  # white part of ROW_B


def frame(k: int) -> np.ndarray:
    x = np.arange(WIDTH)
    y = np.round(16 + 219 * x / (WIDTH - 1)).astype(np.uint8)
    luma = np.tile(y, (HEIGHT, 1))
    luma[BLOCK] = LEVEL0 + k * LEVEL_STEP
    luma[512:576, 0:360] = 235
    yuyv = np.full((HEIGHT, WIDTH * 2), 128, dtype=np.uint8)
    yuyv[:, 0::2] = luma
    return yuyv


def main() -> None:
    out = Path(sys.argv[1])
    frames = [frame(k) for k in range(FRAMES)]
    (out / "frames.yuyv").write_bytes(b"".join(f.tobytes() for f in frames))
    f0 = frames[0]
    mid = f0[ROW_A, 2 * MID_X[0] : 2 * MID_X[1] : 2].mean()
    right = f0[ROW_B, 2 * RIGHT_X[0] : 2 * RIGHT_X[1] : 2].mean()
    white = f0[ROW_B, 2 * WHITE_X[0] : 2 * WHITE_X[1] : 2].mean()
    (out / "frames.env").write_text(
        f"WIDTH={WIDTH}\nHEIGHT={HEIGHT}\nFRAMES={FRAMES}\n"
        f"LEVEL0={LEVEL0}\nLEVEL_STEP={LEVEL_STEP}\nROW_A={ROW_A}\nROW_B={ROW_B}\n"
        f"BLOCK_X='{BLOCK[1].start} {BLOCK[1].stop}'\nMID_X='{MID_X[0]} {MID_X[1]}'\n"
        f"RIGHT_X='{RIGHT_X[0]} {RIGHT_X[1]}'\nWHITE_X='{WHITE_X[0]} {WHITE_X[1]}'\n"
        f"EXPECT_MID={mid:.1f}\nEXPECT_RIGHT={right:.1f}\nEXPECT_WHITE={white:.1f}\n"
    )


if __name__ == "__main__":
    main()
