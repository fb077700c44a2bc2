"""POST /api/v1/events: publishing for services without a WebSocket. The same checks as a bus publish, an answer
only after the commit, and a client `id` that makes retries safe, even across a hub restart."""

import json
import urllib.error
import urllib.request

import pytest

from conftest import _http, fetch_events, open_bus, run_async
from test_display import make_token

ANSWER = {"state": "ok", "title": {"en": "Ready", "fr": "Prête"}, "answers": 1}


def post(hub, token, body, raw=None):
    """POSTs JSON (or `raw` bytes); returns (status, decoded body)."""
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(hub.url + "api/v1/events", data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _http.open(request, timeout=20) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text.decode("utf-8", "replace")


def message(body):
    return body.get("error", {}).get("message", "") if isinstance(body, dict) else str(body)


@pytest.fixture
def small_hub(hub_factory, tmp_path):
    """A hub without devices, so restarts are quick."""
    (tmp_path / "devices").mkdir()
    config = tmp_path / "hub.json"
    config.write_text(json.dumps({"hub": "it-rest", "listen": {"port": 0}, "devices": "devices"}))
    hub = hub_factory.start_config(config)
    hub.config = config
    return hub


def test_a_service_publishes_an_answer_and_gets_its_sequence_after_the_commit(small_hub):
    token = make_token(small_hub, "service")
    status, body = post(small_hub, token, {"topic": "display.kiosk-1", "type": "shop.display", "data": ANSWER})
    assert status == 201, body
    events = fetch_events(small_hub, small_hub.admin_token, "display.>")
    assert [e["sequence"] for e in events] == [body["sequence"]]
    assert events[0]["data"] == ANSWER and events[0]["type"] == "shop.display"


def test_roles_decide_what_may_be_published(small_hub):
    service = make_token(small_hub, "service")
    device = make_token(small_hub, "device", "kiosk-1")
    staff = make_token(small_hub, "staff")
    answer = {"topic": "display.kiosk-1", "type": "t", "data": ANSWER}
    assert post(small_hub, None, answer)[0] == 401
    assert post(small_hub, "shb_00000000_" + "x" * 43, answer)[0] == 401
    status, body = post(small_hub, service, {"topic": "scan.kiosk-1", "type": "t", "data": {}})
    assert status == 403 and "service token" in message(body), body
    status, body = post(small_hub, device, answer)
    assert status == 403 and "device token for kiosk-1" in message(body), body
    assert post(small_hub, device, {"topic": "tryon.result.kiosk-1", "type": "t", "data": {}})[0] == 201
    assert post(small_hub, staff, {"topic": "mirror.command.m", "type": "t", "data": {"select": "X"}})[0] == 201
    assert post(small_hub, staff, answer)[0] == 403
    assert post(small_hub, small_hub.admin_token, answer)[0] == 201


def test_malformed_bodies_are_refused_naming_what_is_wrong(small_hub):
    token = make_token(small_hub, "service")
    cases = [
        (b"{not json", "not valid JSON"),
        (b"[1,2]", "JSON object"),
        (json.dumps({"type": "t", "data": ANSWER}).encode(), "topic: missing"),
        (json.dumps({"topic": "display.k", "data": ANSWER}).encode(), "type: missing"),
        (json.dumps({"topic": 7, "type": "t"}).encode(), "topic: must be a string"),
        (json.dumps({"topic": "display.k", "type": "t", "data": ANSWER, "extra": 1}).encode(), "extra: unknown field"),
        (json.dumps({"topic": "display.k", "type": "t", "data": {**ANSWER, "state": "yes"}}).encode(), "data.state"),
        (json.dumps({"topic": "display.k", "type": "t", "data": ANSWER, "id": "a b"}).encode(), "id:"),
        (json.dumps({"topic": "display.*", "type": "t", "data": ANSWER}).encode(), "topic:"),
        (json.dumps({"topic": "display.k", "type": "", "data": ANSWER}).encode(), "type:"),
        ("{\"topic\":\"display.k\",\"type\":\"t\",\"data\":\"\udcff\"}".encode("utf-8", "surrogatepass"), ""),
    ]
    for raw, expected in cases:
        status, body = post(small_hub, token, None, raw=raw)
        assert status == 400, (raw, status, body)
        assert expected in message(body), (raw, body)
    assert fetch_events(small_hub, small_hub.admin_token, "display.>") == []


def test_an_oversized_body_is_refused_with_413(small_hub):
    token = make_token(small_hub, "service")
    big = {"topic": "display.k", "type": "t", "data": ANSWER, "id": "x", "pad": "y" * 70_000}
    status, body = post(small_hub, token, big)
    assert status == 413, (status, body)
    assert "65536" in message(body)


def test_a_repeated_id_returns_the_first_sequence_on_rest_and_bus_even_after_a_restart(small_hub, hub_factory):
    token = make_token(small_hub, "service")
    other = make_token(small_hub, "service")
    event = {"topic": "display.kiosk-1", "type": "shop.display", "data": ANSWER, "id": "order-1001-answer"}
    status, first = post(small_hub, token, event)
    assert status == 201 and "duplicate" not in first, first
    status, again = post(small_hub, token, event)
    assert (status, again) == (200, {"sequence": first["sequence"], "duplicate": True})

    async def on_the_bus(hub):
        client = await open_bus(hub, token)
        await client.send(op="publish", topic="display.kiosk-1", type="shop.display", data=ANSWER,
                          id="order-1001-answer", ref="retry")
        return await client.reply("published", "retry")

    reply = run_async(on_the_bus(small_hub))
    assert reply["sequence"] == first["sequence"] and reply["duplicate"] is True
    # Another token's id space is its own.
    status, theirs = post(small_hub, other, event)
    assert status == 201 and theirs["sequence"] != first["sequence"]

    small_hub.stop()
    restarted = hub_factory.start_config(small_hub.config, state_dir=small_hub.state_dir)
    status, after = post(restarted, token, event)
    assert (status, after) == (200, {"sequence": first["sequence"], "duplicate": True})
    reply = run_async(on_the_bus(restarted))
    assert reply["sequence"] == first["sequence"]
    events = fetch_events(restarted, restarted.admin_token, "display.>")
    assert [e["sequence"] for e in events] == [first["sequence"], theirs["sequence"]]
    assert events[0]["id"] == "order-1001-answer"


def test_the_dedupe_window_is_configurable(hub_factory, tmp_path):
    (tmp_path / "devices").mkdir()
    config = tmp_path / "hub.json"
    config.write_text(json.dumps({"hub": "it-rest", "listen": {"port": 0}, "devices": "devices",
                                  "log": {"dedupeWindowHours": 0.0005}}))
    hub = hub_factory.start_config(config)
    token = make_token(hub, "service")
    event = {"topic": "display.k", "type": "t", "data": ANSWER, "id": "short-lived"}
    first = post(hub, token, event)[1]["sequence"]
    assert post(hub, token, event)[1] == {"sequence": first, "duplicate": True}
    import time
    time.sleep(2.5)  # the window is 1.8 s
    status, later = post(hub, token, event)
    assert status == 201 and later["sequence"] > first
