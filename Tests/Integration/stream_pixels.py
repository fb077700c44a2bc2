"""What the customer screens' browser tests and benchmarks read from the mirror's stream in the page: the mean
colour of a region of the <img>'s current frame, and the time from a tap on a shade until the lips change. Shared
by Tests/Integration/test_mirror_screen.py and scripts/bench/mirror_tap_latency.py."""

# The mean colour of a rectangle of the stream's current frame, in frame pixels (the <img> is same-origin, so a
# canvas may read it).
SAMPLE = """
const [x0, y0, x1, y1] = arguments;
const img = document.getElementById('stream');
if (!img.naturalWidth) return null;
const canvas = window.__sampler || (window.__sampler = document.createElement('canvas'));
canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
const ctx = canvas.getContext('2d', { willReadFrequently: true });
ctx.drawImage(img, 0, 0);
const data = ctx.getImageData(x0, y0, x1 - x0, y1 - y0).data;
let r = 0, g = 0, b = 0;
for (let i = 0; i < data.length; i += 4) { r += data[i]; g += data[i + 1]; b += data[i + 2]; }
const n = data.length / 4;
return [r / n, g / n, b / n, img.naturalWidth, img.naturalHeight];
"""

# Taps a shade and resolves with the milliseconds until the region's mean colour has moved by more than 6 (RGB
# distance) from `before`, sampling on every animation frame; -1 after 10 s.
TAP_LATENCY = """
const [sku, box, before, done] = [arguments[0], arguments[1], arguments[2], arguments[arguments.length - 1]];
const img = document.getElementById('stream');
const canvas = document.createElement('canvas');
const ctx = canvas.getContext('2d', { willReadFrequently: true });
const sample = () => {
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(box[0], box[1], box[2] - box[0], box[3] - box[1]).data;
  let r = 0, g = 0, b = 0;
  for (let i = 0; i < d.length; i += 4) { r += d[i]; g += d[i + 1]; b += d[i + 2]; }
  const n = d.length / 4;
  return [r / n, g / n, b / n];
};
const start = performance.now();
document.querySelector(`#carousel .shade[data-sku="${sku}"]`).click();
const tick = () => {
  const now = sample();
  const moved = Math.hypot(now[0] - before[0], now[1] - before[1], now[2] - before[2]);
  if (moved > 6) { done(performance.now() - start); return; }
  if (performance.now() - start > 10000) { done(-1); return; }
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
"""


def lips_of(landmarks):
    """The lips' box in frame pixels from a 468-point face mesh: corners 61 and 291, top of the upper lip 0, bottom
    of the lower lip 17, a few pixels inside the corners."""
    left, right = landmarks[61][0], landmarks[291][0]
    top, bottom = landmarks[0][1], landmarks[17][1]
    return int(left + 4), int(top - 2), int(right - 4), int(bottom + 2)
