"""Bad clients get a precise answer and never disturb the others: each test checks a healthy
client on the same hub still gets pongs and fresh events afterwards."""

import json
import time

import pytest
from websockets.asyncio.client import connect

from conftest import DEMO_DEVICES, DEMO_MIRRORS, REPO, BusClient, open_bus, run_async

MAX_MESSAGE_BYTES = json.loads((REPO / "Devices" / "demo" / "hub.json").read_text())["bus"]["maxMessageBytes"]
WRONG_TOKEN = "shb_00000000_" + "A" * 43


async def watcher(hub):
    client = await open_bus(hub, hub.staff_token)
    await client.subscribe("watch", "scan.>")
    return client


async def assert_still_serving(hub, client):
    """The hub answers this healthy client and still fans out events committed after the bad input."""
    status, health = hub.get("healthz")
    assert status == 200 and health["status"] == "ok", f"/healthz answered {status}: {health}"
    mark = health["lastSequence"]
    await client.ping()
    await client.until(
        lambda m: m["op"] == "event" and m["event"]["sequence"] > mark, 10, f"a scan event after sequence {mark}")
    await client.close()


def test_malformed_json_gets_bad_json_and_connection_stays_open(shared_hub):
    async def scenario():
        healthy = await watcher(shared_hub)
        client = await open_bus(shared_hub, shared_hub.staff_token)
        await client.send_text('{"op": "ping", "ref": ')
        error = await client.until(lambda m: m["op"] == "error", 5, "an error for malformed JSON")
        assert error["code"] == "bad_json", f"malformed JSON answered with {error}"
        await client.ping()
        await client.close()
        await assert_still_serving(shared_hub, healthy)

    run_async(scenario())


def test_unknown_op_gets_unknown_op_error_and_connection_stays_open(shared_hub):
    async def scenario():
        healthy = await watcher(shared_hub)
        client = await open_bus(shared_hub, shared_hub.staff_token)
        await client.send(op="teleport", ref="t1")
        error = await client.until(lambda m: m["op"] == "error", 5, "an error for an unknown op")
        assert error["code"] == "unknown_op", f"unknown op answered with {error}"
        await client.ping()
        await client.close()
        await assert_still_serving(shared_hub, healthy)

    run_async(scenario())


def test_oversize_message_closes_connection_with_1009(shared_hub):
    async def scenario():
        healthy = await watcher(shared_hub)
        client = await open_bus(shared_hub, shared_hub.staff_token)
        # Just under the limit is fine...
        fits = json.dumps({"op": "ping", "ref": "x" * (MAX_MESSAGE_BYTES - 100)})
        await client.send_text(fits)
        await client.reply("pong", "x" * (MAX_MESSAGE_BYTES - 100))
        # ...just over it ends the connection.
        await client.send_text(json.dumps({"op": "ping", "ref": "y" * (MAX_MESSAGE_BYTES + 100)}))
        await client.closed(5, "the close after an oversize message")
        assert client.close_code == 1009, f"oversize message closed with {client.close_code}, expected 1009"
        await assert_still_serving(shared_hub, healthy)

    run_async(scenario())


def test_op_before_auth_is_unauthenticated_and_silence_closes_with_4401(shared_hub):
    async def scenario():
        healthy = await watcher(shared_hub)
        connected = time.monotonic()
        client = await open_bus(shared_hub, auth=None)
        await client.send(op="subscribe", id="early", topic="scan.>")
        error = await client.until(lambda m: m["op"] == "error", 5, "an error for an op before auth")
        assert error["code"] == "unauthenticated", f"op before auth answered with {error}"
        await client.send(op="ping", ref="early")
        error = await client.until(lambda m: m["op"] in ("error", "pong"), 5, "an answer to ping before auth")
        assert error["op"] == "error" and error["code"] == "unauthenticated", f"ping before auth answered with {error}"
        before_close = await client.closed(9, "the close of a connection that never authenticated")
        waited = time.monotonic() - connected
        assert client.close_code == 4401, f"unauthenticated connection closed with {client.close_code}, expected 4401"
        assert 4.0 <= waited <= 8.0, f"closed {waited:.1f} s after connecting, expected about 5 s"
        assert any(m["op"] == "error" for m in before_close), f"no error message before the 4401 close: {before_close}"
        await assert_still_serving(shared_hub, healthy)

    run_async(scenario())


def test_wrong_token_on_header_gets_error_and_close_4401(shared_hub):
    async def scenario():
        healthy = await watcher(shared_hub)
        ws = await connect(
            shared_hub.ws_url, additional_headers={"Authorization": f"Bearer {WRONG_TOKEN}"}, proxy=None,
            open_timeout=10, close_timeout=5)
        client = BusClient(ws)
        messages = await client.closed(5, "the close after a wrong header token")
        assert messages and messages[0]["op"] == "hello" and messages[0]["authenticated"] is False, messages
        errors = [m for m in messages if m["op"] == "error"]
        assert errors and errors[0]["code"] == "unauthenticated", f"wrong header token answered with {messages}"
        assert not [m for m in messages if m["op"] == "event"], "a refused client must see no event"
        assert client.close_code == 4401, f"wrong header token closed with {client.close_code}, expected 4401"
        await assert_still_serving(shared_hub, healthy)

    run_async(scenario())


def test_wrong_token_in_auth_op_gets_error_and_close_4401(shared_hub):
    async def scenario():
        healthy = await watcher(shared_hub)
        client = await open_bus(shared_hub, auth=None)
        await client.send(op="auth", token=WRONG_TOKEN)
        messages = await client.closed(5, "the close after a wrong token")
        errors = [m for m in messages if m["op"] == "error"]
        assert errors and errors[0]["code"] == "unauthenticated", f"wrong token answered with {messages}"
        assert client.close_code == 4401, f"wrong token closed with {client.close_code}, expected 4401"
        await assert_still_serving(shared_hub, healthy)

    run_async(scenario())


def test_rest_devices_needs_a_token_and_lists_the_demo_devices(shared_hub):
    status, body = shared_hub.get("api/v1/devices")
    assert status == 401, f"/api/v1/devices without a token answered {status}"
    status, body = shared_hub.get("api/v1/devices", WRONG_TOKEN)
    assert status == 401, f"/api/v1/devices with a wrong token answered {status}"
    status, body = shared_hub.get("api/v1/devices", shared_hub.staff_token)
    assert status == 200, f"/api/v1/devices with the staff token answered {status}: {body}"
    devices = {device["id"]: device for device in body["devices"]}
    assert set(devices) == set(DEMO_DEVICES) | set(DEMO_MIRRORS), f"devices listed: {sorted(devices)}"
    for device in devices.values():
        assert device["kind"] == ("mirror" if device["id"] in DEMO_MIRRORS else "kiosk")
        missing = {"name", "state", "reason", "since", "framesDelivered", "framesProcessed", "framesDropped",
                   "restarts", "lastScan"} - set(device)
        assert not missing, f"{device['id']} lacks {sorted(missing)}"

    async def scenario():
        await assert_still_serving(shared_hub, await watcher(shared_hub))

    run_async(scenario())
