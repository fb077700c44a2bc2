"""GET /api/v1/insights: scans per hour, device and class, pickups answered ok / refused / unanswered, from the
insight tables the log fills in each event's own transaction. Scans come from a serial scanner on a real
pseudo-terminal, answers from a service token over REST."""

import json
import subprocess
import time
import urllib.parse

from conftest import BINARY, fetch_events
from test_rest_publish import post
from test_pickup_codes import scanner  # noqa: F401 (a fixture)
from test_serial_scanner import DEVICE, wait_device

WAIT = 20.0


def test_insights_count_scans_by_class_and_pickups_by_answer(hub_factory, tmp_path, scanner):
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / f"{DEVICE}.json").write_text(json.dumps({
        "id": DEVICE, "kind": "scanner", "name": "Counter",
        "scanner": {"type": "serial", "path": str(scanner.link), "framing": "cr"},
        "decoder": {"duplicateWindowSeconds": 0, "classes": [{"name": "pickup-order", "pattern": "^PU-"}]}}))
    (tmp_path / "hub.json").write_text(json.dumps({"hub": "it-insights", "listen": {"port": 0},
                                                   "devices": "devices"}))
    hub = hub_factory.start_config(tmp_path / "hub.json")
    wait_device(hub, lambda d: d["state"] == "online", "online")
    service = subprocess.run([str(BINARY), "token", "create", "--role", "service", "--state", str(hub.state_dir)],
                             capture_output=True, text=True, check=True).stdout.strip()
    for text in ["PU-1", "PU-2", "PU-3", "4006381333931", "free text"]:
        scanner.write(text.encode() + b"\r")
    deadline = time.monotonic() + WAIT
    while len(scans := fetch_events(hub, hub.admin_token, f"scan.{DEVICE}")) < 5:
        assert time.monotonic() < deadline, scans
        time.sleep(0.1)
    by_text = {s["data"]["text"]: s["sequence"] for s in scans}
    for text, state in [("PU-1", "ok"), ("PU-2", "error"), ("PU-2", "ok")]:  # the first answer counts
        status, body = post(hub, service, {"topic": f"display.{DEVICE}", "type": "t",
                                           "data": {"state": state, "title": "x", "answers": by_text[text]}})
        assert status == 201, body

    query = urllib.parse.urlencode({"from": "2020-01-01T00:00:00Z", "to": "2020-01-08T00:00:00Z"})
    assert hub.get(f"api/v1/insights?{query}", hub.admin_token) == (200, {
        "from": "2020-01-01T00:00:00.000Z", "to": "2020-01-08T00:00:00.000Z", "hours": [], "shades": []})
    status, body = hub.get("api/v1/insights", hub.admin_token)
    assert status == 200, body
    assert len(body["hours"]) == 1, body
    hour = body["hours"][0]
    assert hour["scans"] == {DEVICE: {"pickup-order": 3, "": 2}}, hour
    assert hour["pickups"] == {"ok": 1, "refused": 1, "unanswered": 1}, hour
    assert hour["mirrorVisits"] == 0 and body["shades"] == []


def test_insights_are_for_staff_and_check_their_range(hub_factory, tmp_path):
    (tmp_path / "devices").mkdir()
    (tmp_path / "hub.json").write_text(json.dumps({"hub": "it", "listen": {"port": 0}, "devices": "devices"}))
    hub = hub_factory.start_config(tmp_path / "hub.json")
    service = subprocess.run([str(BINARY), "token", "create", "--role", "service", "--state", str(hub.state_dir)],
                             capture_output=True, text=True, check=True).stdout.strip()
    staff = subprocess.run([str(BINARY), "token", "create", "--role", "staff", "--state", str(hub.state_dir)],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert hub.get("api/v1/insights", service)[0] == 403
    assert hub.get("api/v1/insights")[0] == 401
    assert hub.get("api/v1/insights", staff)[0] == 200
    for query in ["from=yesterday", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
                  "from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to=" + "9" * 60]:
        status, body = hub.get(f"api/v1/insights?{query}", staff)
        assert status == 400, (query, status, body)
