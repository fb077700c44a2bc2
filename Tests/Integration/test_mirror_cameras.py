"""Mirrors on cameras as they are sold, through the real binary: which camera settings a mirror takes, and a
mirror fed camera-like MJPEG and YUYV frames (a replay camera with `format`, each frame decoded as a USB camera's
would be) that streams colour JPEGs in the camera's chroma layout and shows its frame budget in /metrics and in
its device status.
"""

import io
import json
import time
import urllib.request

import pytest
from PIL import Image, JpegImagePlugin
from prometheus_client.parser import text_string_to_metric_families

from conftest import REPO, http_get
from test_mirror import ChunkedReader, http_post, open_stream

PORTRAIT = REPO / ".cache" / "faces" / "grace_hopper.jpg"
MIRROR = "mirror-cam"
STAGES = ("capture", "landmarks", "render", "encode")


def write_config(root, camera):
    (root / "devices").mkdir(parents=True)
    (root / "hub.json").write_text(json.dumps({
        "hub": "mirror-cameras", "devices": "devices", "shades": str(REPO / "Assets" / "shades.json")}))
    (root / "devices" / "mirror.json").write_text(json.dumps({
        "id": MIRROR, "kind": "mirror", "camera": camera,
        "mirror": {"defaultShade": "LS-101", "streamFps": 10}}))
    return root / "hub.json"


@pytest.mark.parametrize("field, value, key", [
    ("format", "GREY", "camera.format"), ("format", "YU12", "camera.format"),
    ("width", 320, "camera.width"), ("height", 1440, "camera.height"), ("width", 1281, "camera.width")])
def test_a_mirror_camera_it_cannot_use_is_refused_at_start_naming_the_setting(hub_factory, tmp_path, field, value, key):
    camera = {"type": "v4l2", "path": "/dev/video-absent", "width": 1280, "height": 720, field: value}
    config = write_config(tmp_path / "hub", camera)
    code, _, stderr, ready = hub_factory.run_to_exit(["run", "--config", str(config), "--state", str(tmp_path / "s")])
    assert not ready and code != 0, "the hub started with a mirror camera it cannot use"
    assert key in stderr and str(value) in stderr, stderr[-800:]


@pytest.mark.parametrize("fmt", ["YUYV", "MJPG", "NV12"])
def test_a_mirror_camera_in_a_colour_format_starts_and_reports_the_missing_device(hub_factory, tmp_path, fmt):
    camera = {"type": "v4l2", "path": str(tmp_path / "no-camera"), "width": 1920, "height": 1080, "format": fmt}
    hub = hub_factory.start_config(write_config(tmp_path / "hub", camera))
    deadline = time.monotonic() + 30
    while True:
        status, body = hub.get("api/v1/devices", hub.admin_token)
        device = next(d for d in body["devices"] if d["id"] == MIRROR)
        if device["state"] == "offline" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert device["state"] == "offline" and "does not exist" in device["reason"], device


def scrape(hub):
    status, body = http_get(hub.url + "metrics", hub.admin_token)
    assert status == 200, body
    return {family.name: family for family in text_string_to_metric_families(body)}


def value(families, family, name, **labels):
    """The sample's value; 0 while the hub has not published the family yet (once a second)."""
    matches = [s.value for s in families[family].samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())] if family in families else []
    return matches[0] if matches else 0


def first_stream_jpeg(hub):
    status, ticket = http_post(hub.url + f"api/v1/mirrors/{MIRROR}/ticket", hub.admin_token)
    assert status == 200, ticket
    sock, stream, status, headers = open_stream(hub, ticket["url"])
    try:
        assert status == 200
        body = ChunkedReader(stream) if headers.get("transfer-encoding") == "chunked" else stream
        while True:
            line = body.readline().strip().lower()
            if line.startswith(b"content-length:"):
                length = int(line.split(b":")[1])
                while body.readline().strip():
                    pass
                return body.read(length)
    finally:
        sock.close()


@pytest.mark.skipif(not PORTRAIT.exists(), reason="the portrait is missing: run scripts/fetch-assets")
@pytest.mark.parametrize("fmt, sampling", [("MJPG", 2), ("YUYV", 1)])  # PIL: 2 is 4:2:0, 1 is 4:2:2
def test_a_mirror_on_camera_like_frames_streams_colour_and_shows_its_frame_budget(hub_factory, tmp_path, fmt,
                                                                                  sampling):
    camera = {"type": "replay", "path": str(PORTRAIT), "fps": 15, "format": fmt, "width": 640, "height": 480}
    hub = hub_factory.start_config(write_config(tmp_path / "hub", camera))

    # The pictures are made when the camera opens (slow in a debug build): wait for rendered frames first.
    deadline = time.monotonic() + 120
    while True:
        families = scrape(hub)
        rendered = value(families, "storehub_mirror_frames_rendered", "storehub_mirror_frames_rendered_total",
                         device=MIRROR)
        streamed = value(families, "storehub_mirror_capture_to_stream_seconds",
                         "storehub_mirror_capture_to_stream_seconds_count", device=MIRROR)
        # The device counters are published about once a second, the mirror's with every frame.
        processed = value(families, "storehub_device_frames_processed", "storehub_device_frames_processed_total",
                          device=MIRROR)
        if (rendered >= 10 and streamed >= 3 and processed > 0) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    frames_in = value(families, "storehub_mirror_frames_in", "storehub_mirror_frames_in_total", device=MIRROR)
    dropped = value(families, "storehub_mirror_frames_dropped", "storehub_mirror_frames_dropped_total", device=MIRROR)
    assert rendered >= 10 and streamed >= 3, f"rendered {rendered}, streamed {streamed}"
    assert frames_in >= rendered and frames_in - dropped <= rendered + 1, (frames_in, rendered, dropped)
    for stage in STAGES:
        count = value(families, "storehub_mirror_stage_seconds", "storehub_mirror_stage_seconds_count",
                      device=MIRROR, stage=stage)
        assert count > 0, f"no {stage} times"
    # The existing device counters still count the mirror's frames.
    assert value(families, "storehub_device_frames_processed", "storehub_device_frames_processed_total",
                 device=MIRROR) > 0

    jpeg = first_stream_jpeg(hub)
    image = Image.open(io.BytesIO(jpeg))
    assert image.size == (640, 480) and image.mode == "RGB"
    assert JpegImagePlugin.get_sampling(image) == sampling, "the stream does not keep the camera's chroma layout"
    pixels = image.convert("RGB").getdata()
    assert sum(abs(r - b) for r, g, b in pixels) / len(pixels) > 2, "the stream is grey"

    status, body = hub.get("api/v1/devices", hub.admin_token)
    budget = next(d for d in body["devices"] if d["id"] == MIRROR).get("frameBudget")
    assert budget, "the device status carries no frameBudget"
    assert budget["framesIn"] >= budget["framesRendered"] > 0
    assert set(budget["stageMs"]) == set(STAGES) and budget["stageMs"]["capture"] >= 0


@pytest.mark.skipif(not PORTRAIT.exists(), reason="the portrait is missing: run scripts/fetch-assets")
def test_a_mirrors_frame_counters_in_metrics_are_current_with_its_per_frame_times(hub_factory, tmp_path):
    # A rate meter reads the counters over a window: one that lags its own histograms skews the rate.
    camera = {"type": "replay", "path": str(PORTRAIT), "fps": 15, "format": "YUYV", "width": 640, "height": 480}
    hub = hub_factory.start_config(write_config(tmp_path / "hub", camera))
    deadline = time.monotonic() + 120
    while value(scrape(hub), "storehub_mirror_frames_rendered", "storehub_mirror_frames_rendered_total",
                device=MIRROR) < 10 and time.monotonic() < deadline:
        time.sleep(0.5)
    gaps = []
    for _ in range(5):
        families = scrape(hub)
        rendered = value(families, "storehub_mirror_frames_rendered", "storehub_mirror_frames_rendered_total",
                         device=MIRROR)
        timed = value(families, "storehub_mirror_stage_seconds", "storehub_mirror_stage_seconds_count",
                      device=MIRROR, stage="render")
        gaps.append(timed - rendered)
        time.sleep(0.37)
    assert rendered >= 10, f"rendered {rendered}"
    # At most the frame between its render time and its count being published.
    assert all(0 <= gap <= 1 for gap in gaps), f"render times minus rendered frames, per scrape: {gaps}"
