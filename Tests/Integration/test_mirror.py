"""The try-on mirror through the real binary: shades over REST, shade choice and snapshots over the bus,
try-on results, snapshots over REST with their permissions, the MJPEG stream, and `storehub tryon`.

The demo hub's mirror (Devices/demo/devices/mirror-beauty.json) replays the portrait that scripts/fetch-assets
puts in .cache/faces.
"""

import asyncio
import io
import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid

import numpy as np
import pytest
from PIL import Image

from conftest import BINARY, REPO, http_get, open_bus, run_async

MIRROR = "mirror-beauty"
PORTRAIT = REPO / ".cache" / "faces" / "grace_hopper.jpg"
FIXTURE = REPO / "Tests" / "Fixtures" / "faces" / "grace_hopper.json"

_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_post(url, token=None, timeout=10.0):
    request = urllib.request.Request(url, method="POST", data=b"")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _http.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def http_bytes(url, token=None, timeout=10.0):
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _http.open(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as error:
        return error.code, None, error.read()


def service_token(hub):
    result = subprocess.run(
        [str(BINARY), "token", "create", "--role", "service", "--label", "sharing", "--state", str(hub.state_dir)],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return next(word for word in result.stdout.split() if word.startswith("shb_"))


def test_shades_are_served_to_any_token_and_refused_without_one(shared_hub):
    status, body = shared_hub.get("/api/v1/shades", shared_hub.staff_token)
    assert status == 200, body
    skus = [shade["sku"] for shade in body["shades"]]
    catalog = json.loads((REPO / "Assets" / "shades.json").read_text())
    assert skus == [shade["sku"] for shade in catalog["shades"]]
    assert {"sku", "name", "brand", "color", "finish", "opacity"} <= set(body["shades"][0])
    status, _ = shared_hub.get("/api/v1/shades")
    assert status == 401


def read_exactly(sock_file, count):
    data = sock_file.read(count)
    assert len(data) == count, f"stream ended after {len(data)} of {count} bytes"
    return data


def open_stream(hub, path, headers=()):
    """A raw HTTP/1.1 GET on its own socket, so the test sees bytes exactly when the hub sends them."""
    sock = socket.create_connection(("127.0.0.1", hub.port), timeout=15)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{hub.port}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    sock.sendall(request.encode())
    stream = sock.makefile("rb")
    status_line = stream.readline().decode()
    response_headers = {}
    while True:
        line = stream.readline().decode()
        if line in ("\r\n", ""):
            break
        name, _, value = line.partition(":")
        response_headers[name.strip().lower()] = value.strip()
    return sock, stream, int(status_line.split()[1]), response_headers


class ChunkedReader:
    """Undoes chunked transfer encoding, so the multipart body reads as one byte stream."""

    def __init__(self, stream):
        self.stream = stream
        self.buffer = b""

    def _more(self):
        size = int(self.stream.readline().split(b";")[0], 16)
        if size == 0:
            raise EOFError("stream ended")
        self.buffer += self.stream.read(size)
        self.stream.readline()

    def read(self, count):
        while len(self.buffer) < count:
            self._more()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def readline(self):
        while b"\n" not in self.buffer:
            self._more()
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def buffered_now(self):
        return self.buffer


def test_mirror_stream_sends_colour_jpegs_each_followed_at_once_by_the_boundary(shared_hub):
    status, ticket = http_post(shared_hub.url + f"api/v1/mirrors/{MIRROR}/ticket", shared_hub.staff_token)
    assert status == 200, ticket
    sock, stream, status, headers = open_stream(shared_hub, ticket["url"])
    try:
        assert status == 200
        content_type = headers["content-type"]
        assert content_type.startswith("multipart/x-mixed-replace")
        boundary = content_type.split("boundary=")[1].encode()
        assert headers.get("transfer-encoding") == "chunked"
        body = ChunkedReader(stream)
        assert body.readline().strip() == b"--" + boundary
        for _ in range(3):
            part_headers = {}
            while True:
                line = body.readline().decode().strip()
                if not line:
                    break
                name, _, value = line.partition(":")
                part_headers[name.strip().lower()] = value.strip()
            assert part_headers["content-type"] == "image/jpeg"
            jpeg = body.read(int(part_headers["content-length"]))
            # The boundary came in the same chunk as the JPEG's end, not with the next frame.
            assert body.buffered_now().startswith(b"\r\n--" + boundary), "the boundary did not follow the JPEG"
            closing = body.read(len(boundary) + 6)
            assert closing == b"\r\n--" + boundary + b"\r\n"
            image = Image.open(io.BytesIO(jpeg))
            assert image.mode == "RGB" and image.size == (512, 600)
            pixels = np.asarray(image).astype(int)
            assert np.abs(pixels[..., 0] - pixels[..., 2]).mean() > 2, "the stream is grey"
    finally:
        sock.close()
    # A ticket opens one stream only.
    sock, stream, status, _ = open_stream(shared_hub, ticket["url"])
    sock.close()
    assert status == 401


def test_mirror_stream_needs_staff_or_a_ticket(shared_hub):
    token = service_token(shared_hub)
    status, _ = http_post(shared_hub.url + f"api/v1/mirrors/{MIRROR}/ticket", token)
    assert status == 403
    for headers in ((), (("Authorization", f"Bearer {token}"),)):
        sock, _, status, _ = open_stream(shared_hub, f"/mirror/{MIRROR}.mjpeg", headers)
        sock.close()
        assert status in (401, 403)
    sock, _, status, _ = open_stream(shared_hub, f"/mirror/{MIRROR}.mjpeg?ticket={'0' * 32}")
    sock.close()
    assert status == 401
    status, _ = http_post(shared_hub.url + "api/v1/mirrors/kiosk-aisle/ticket", shared_hub.staff_token)
    assert status == 404


def test_select_then_snapshot_gives_a_tryon_result_and_a_retrievable_snapshot(shared_hub):
    async def scenario():
        client = await open_bus(shared_hub, shared_hub.staff_token)
        await client.subscribe("results", f"tryon.result.{MIRROR}")
        await client.publish(f"mirror.command.{MIRROR}", {"select": "LS-106"}, "select-1")
        time.sleep(0.5)
        await client.publish(f"mirror.command.{MIRROR}", {"snapshot": True}, "snap-1")
        message = await client.until(
            lambda m: m["op"] == "event" and m["event"]["data"]["kind"] == "snapshot", 20, "a snapshot result")
        return message["event"]

    event = run_async(scenario())
    data = event["data"]
    assert event["type"] == "storehub.tryon.result" and event["subject"] == f"tryon.result.{MIRROR}"
    assert data["sku"] == "LS-106" and data["device"] == MIRROR
    assert len(data["snapshotId"]) == 32 and int(data["snapshotId"], 16) >= 0
    assert data["snapshotUrl"] == f"/api/v1/snapshots/{data['snapshotId']}.jpg"
    assert data["session"] and data["dwellSeconds"] >= 0 and data["locator"] in ("native", "mesh", "bus", "classical")
    assert (shared_hub.state_dir / "snapshots" / f"{data['snapshotId']}.jpg").is_file()

    token = service_token(shared_hub)
    status, content_type, jpeg = http_bytes(shared_hub.url + data["snapshotUrl"].lstrip("/"), token)
    assert status == 200 and content_type == "image/jpeg"
    assert Image.open(io.BytesIO(jpeg)).size == (512, 600)
    status, _, _ = http_bytes(shared_hub.url + data["snapshotUrl"].lstrip("/"))
    assert status == 401
    status, _, _ = http_bytes(shared_hub.url + f"api/v1/snapshots/{uuid.uuid4().hex}.jpg", token)
    assert status == 404
    # A path that is not a snapshot id is refused at the edge, naming the parameter, before any file is looked at.
    status, _, body = http_bytes(shared_hub.url + "api/v1/snapshots/..%2Fhub.sqlite.jpg", token)
    assert status == 400 and json.loads(body)["error"]["parameter"] == "file"


def test_a_shade_chosen_the_moment_the_hub_is_up_is_not_lost(hub_factory):
    """The first command reaches the mirror even when it is sent before the mirror's camera has opened: the mirror
    applies what the log accepted since the hub started, not only what arrives once it listens."""
    hub = hub_factory.start()

    async def scenario():
        client = await open_bus(hub, hub.staff_token)
        await client.subscribe("results", f"tryon.result.{MIRROR}")
        await client.publish(f"mirror.command.{MIRROR}", {"select": "LS-106"}, "select-1")
        # The snapshot is asked for once the mirror is rendering, so it is not lost in the same way.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, body = hub.get("/api/v1/devices", hub.staff_token)
            mirror = next(device for device in body["devices"] if device["id"] == MIRROR)
            if mirror.get("framesProcessed", 0) > 0:
                break
            await asyncio.sleep(0.05)
        await client.publish(f"mirror.command.{MIRROR}", {"snapshot": True}, "snap-1")
        message = await client.until(
            lambda m: m["op"] == "event" and m["event"]["data"]["kind"] == "snapshot", 30, "a snapshot result")
        return message["event"]["data"]

    data = run_async(scenario())
    assert data["sku"] == "LS-106", f"the snapshot wore {data['sku']}: the shade chosen at start-up was lost"


def test_an_unknown_shade_is_reported_and_the_mirror_keeps_running(shared_hub):
    async def scenario():
        client = await open_bus(shared_hub, shared_hub.staff_token)
        await client.publish(f"mirror.command.{MIRROR}", {"select": "NO-SUCH-SHADE"}, "bad-1")

    run_async(scenario())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, body = shared_hub.get("/api/v1/devices", shared_hub.staff_token)
        mirror = next(device for device in body["devices"] if device["id"] == MIRROR)
        if "NO-SUCH-SHADE" in (mirror.get("lastError") or ""):
            break
        time.sleep(0.2)
    assert "NO-SUCH-SHADE" in (mirror.get("lastError") or ""), mirror
    assert mirror["state"] in ("online", "degraded")


def test_a_bad_shade_catalog_stops_the_hub_with_the_sku_named(hub_factory, tmp_path):
    catalog = json.loads((REPO / "Assets" / "shades.json").read_text())
    catalog["shades"][2]["color"] = "crimson"
    sku = catalog["shades"][2]["sku"]
    (tmp_path / "shades.json").write_text(json.dumps(catalog))
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "mirror.json").write_text(json.dumps({
        "id": "mirror-x", "kind": "mirror", "camera": {"type": "replay", "path": str(PORTRAIT), "fps": 5}}))
    (tmp_path / "hub.json").write_text(json.dumps({"hub": "t", "devices": "devices", "shades": "shades.json"}))
    code, _, stderr, ready = hub_factory.run_to_exit(
        ["run", "--config", str(tmp_path / "hub.json"), "--state", str(tmp_path / "state"), "--port", "0"])
    assert not ready and code != 0
    assert f"shade '{sku}'" in stderr and "color" in stderr, stderr


def test_a_missing_portrait_leaves_the_hub_running_and_says_how_to_fetch_it(hub_factory, tmp_path):
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "mirror.json").write_text(json.dumps({
        "id": "mirror-x", "kind": "mirror",
        "camera": {"type": "replay", "path": str(tmp_path / "absent.jpg"), "fps": 5}}))
    (tmp_path / "hub.json").write_text(json.dumps({
        "hub": "t", "devices": "devices", "shades": str(REPO / "Assets" / "shades.json")}))
    hub = hub_factory.start_config(tmp_path / "hub.json")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "fetch-assets" not in hub.stderr_text():
        time.sleep(0.2)
    assert "scripts/fetch-assets" in hub.stderr_text()
    status, _ = hub.get("/healthz")
    assert status == 200


def run_tryon(tmp_path, *options):
    """Runs `storehub tryon` on the portrait with shade LS-102; returns its JSON line, the output and stderr."""
    output = tmp_path / "out.jpg"
    result = subprocess.run(
        [str(BINARY), "tryon", str(PORTRAIT), "--shade", "LS-102", "-o", str(output), *options],
        capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), output, result.stderr


def assert_shade_on_the_lips_only(output):
    """The rendered photo differs from the portrait on the lips (MediaPipe's mesh in the fixture), not elsewhere."""
    before = np.asarray(Image.open(PORTRAIT).convert("RGB")).astype(float)
    after = np.asarray(Image.open(output).convert("RGB")).astype(float)
    landmarks = json.loads(FIXTURE.read_text())["landmarks"]
    lips = [landmarks[i] for i in (61, 291, 0, 17)]
    x0, x1 = int(min(p[0] for p in lips)), int(max(p[0] for p in lips))
    y0, y1 = int(min(p[1] for p in lips)), int(max(p[1] for p in lips))
    change = np.abs(after - before).sum(axis=2)
    lip_change = change[y0:y1, x0:x1].mean()
    far_change = change[:100, :100].mean()  # JPEG re-encoding noise only
    assert lip_change > 5 * far_change + 10, (lip_change, far_change)


def test_cli_tryon_renders_the_shade_on_the_lips_only(tmp_path):
    report, output, _ = run_tryon(tmp_path, "--landmarks", str(FIXTURE))
    assert report["locator"] == "mesh" and report["strength"] == 1
    assert_shade_on_the_lips_only(output)


def test_cli_tryon_finds_the_lips_with_the_native_pipeline_when_the_face_models_are_there(tmp_path):
    assert (REPO / ".cache" / "models" / "face_landmark.tflite").is_file(), \
        "face models missing: run scripts/install-deps"
    report, output, stderr = run_tryon(tmp_path)
    assert report["locator"] == "native", (report, stderr)
    assert report["confidence"] >= 0.5, report
    assert_shade_on_the_lips_only(output)


def test_cli_tryon_uses_the_classical_locator_when_asked_or_without_the_face_models(tmp_path):
    asked, _, _ = run_tryon(tmp_path, "--classical")
    assert asked["locator"] == "classical", asked
    missing, _, stderr = run_tryon(tmp_path, "--models", str(tmp_path / "no-models"))
    assert missing["locator"] == "classical", missing
    assert "scripts/fetch-assets" in stderr, stderr


def test_cli_tryon_with_an_unknown_shade_names_it_and_the_known_ones(tmp_path):
    result = subprocess.run(
        [str(BINARY), "tryon", str(PORTRAIT), "--shade", "LS-999", "-o", str(tmp_path / "x.jpg")],
        capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 64
    assert "LS-999" in result.stderr and "LS-101" in result.stderr
    assert not (tmp_path / "x.jpg").exists()


def snapshot_locator(hub, device):
    """Selects a shade on `device`, takes a snapshot and returns the try-on result's locator."""
    async def scenario():
        client = await open_bus(hub, hub.admin_token)
        await client.subscribe("results", f"tryon.result.{device}")
        await client.publish(f"mirror.command.{device}", {"select": "LS-101"}, "select-1")
        await client.publish(f"mirror.command.{device}", {"snapshot": True}, "snap-1")
        message = await client.until(
            lambda m: m["op"] == "event" and m["event"]["data"]["kind"] == "snapshot", 60, "a snapshot result")
        return message["event"]["data"]["locator"]

    return run_async(scenario())


def mirror_hub(hub_factory, tmp_path, models):
    """A hub with one mirror replaying the portrait, no landmarks given, face models looked for in `models`."""
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "mirror.json").write_text(json.dumps({
        "id": "mirror-x", "kind": "mirror", "camera": {"type": "replay", "path": str(PORTRAIT), "fps": 5},
        "mirror": {"faceGuide": [165, 125, 200, 215]}}))
    (tmp_path / "hub.json").write_text(json.dumps({
        "hub": "t", "devices": "devices", "shades": str(REPO / "Assets" / "shades.json"), "models": str(models)}))
    hub = hub_factory.start_config(tmp_path / "hub.json")
    deadline = time.monotonic() + 30
    while True:
        status, body = hub.get("/api/v1/devices", hub.admin_token)
        mirror = next(device for device in body["devices"] if device["id"] == "mirror-x")
        if mirror["state"] in ("online", "degraded") and mirror["framesProcessed"] > 0:
            return hub
        assert time.monotonic() < deadline, f"the mirror never ran: {mirror}"
        time.sleep(0.2)


def test_with_the_face_models_the_mirror_finds_lips_with_the_native_pipeline(hub_factory, tmp_path):
    models = REPO / ".cache" / "models"
    assert (models / "face_landmark.tflite").is_file(), "face models missing: run scripts/install-deps"
    hub = mirror_hub(hub_factory, tmp_path, models)
    assert snapshot_locator(hub, "mirror-x") == "native"
    assert "no native face landmarks" not in hub.stderr_text()


def test_without_the_face_models_the_mirror_says_so_and_falls_back(hub_factory, tmp_path):
    hub = mirror_hub(hub_factory, tmp_path, tmp_path / "no-models")
    # The classical locator is never confident enough to paint for sure: the overlay fades (no locator) or it is
    # the classical one; never the native pipeline.
    assert snapshot_locator(hub, "mirror-x") in (None, "classical")
    log = hub.stderr_text()
    assert "no native face landmarks" in log and "fetch-assets" in log, log
