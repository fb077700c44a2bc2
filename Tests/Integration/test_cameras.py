"""Cameras on the host: a configured V4L2 camera that is not plugged in. (Streaming from a real V4L2 driver is
proven in the VM by scripts/vm-test.)"""

import json
import time

from conftest import http_get


def test_unplugged_camera_reports_offline_with_the_reason_and_the_hub_keeps_serving(hub_factory, tmp_path):
    config = tmp_path / "hub.json"
    config.write_text(json.dumps({"hub": "it-cameras", "listen": {"port": 0}, "devices": "devices"}))
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "kiosk-door.json").write_text(json.dumps({
        "id": "kiosk-door", "kind": "kiosk", "name": "Door kiosk",
        "camera": {"type": "v4l2", "path": "/dev/v4l/by-id/usb-storehub-test-camera-video-index0"},
        "decoder": {"symbologies": ["qr"]},
    }))
    hub = hub_factory.launch(
        ["run", "--config", str(config), "--state", str(tmp_path / "state")], name="cameras").wait_ready(30)
    admin, url = hub.admin_token, hub.url

    deadline = time.monotonic() + 15
    while True:
        status, body = http_get(url + "api/v1/devices", admin)
        assert status == 200, body
        device = body["devices"][0]
        if device["state"] == "offline" and device["restarts"] >= 1:
            break
        assert time.monotonic() < deadline, f"no offline state with a retry within 15 s: {device}"
        time.sleep(0.2)
    assert "does not exist" in device["reason"] and "plugged" in device["reason"], device["reason"]

    status, body = http_get(url + "api/v1/events?topic=device.status.kiosk-door&limit=1000", admin)
    assert status == 200, body
    events = body["events"]
    states = [event["data"]["state"] for event in events]
    assert states[:2] == ["starting", "offline"], states
    assert all(event["data"]["reason"] for event in events), "every status change carries a reason"
    status, health = http_get(url + "healthz")
    assert status == 200 and health["status"] == "ok"
    hub.process.terminate()
    assert hub.process.wait(15) == 0
