"""Guessing tokens is slowed down: after 10 refused tokens from one address within a minute, that address is
refused outright (REST 429 with Retry-After, bus error and close 4401) even with a good token."""

import json
import urllib.error
import urllib.request

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import _http, http_get, run_async


def test_ten_refused_tokens_block_the_address_for_rest_and_bus(hub):
    status, _ = http_get(hub.url + "api/v1/devices", hub.staff_token)
    assert status == 200
    for attempt in range(10):
        status, body = http_get(hub.url + "api/v1/devices", f"shb_00000000_{attempt:043d}")
        assert status == 401, f"attempt {attempt}: {status} {body}"
    request = urllib.request.Request(hub.url + "api/v1/devices", headers={"Authorization": f"Bearer {hub.staff_token}"})
    try:
        _http.open(request, timeout=10)
        raise AssertionError("a good token was served from an address that just guessed ten times")
    except urllib.error.HTTPError as error:
        assert error.code == 429
        assert 1 <= int(error.headers["Retry-After"]) <= 61
        assert b"too many refused tokens" in error.read()

    async def bus():
        async with connect(hub.ws_url, additional_headers={"Authorization": f"Bearer {hub.staff_token}"},
                           proxy=None, open_timeout=10) as ws:
            messages = []
            try:
                while True:
                    messages.append(json.loads(await ws.recv()))
            except ConnectionClosed as closed:
                return messages, closed.rcvd.code if closed.rcvd else None

    messages, code = run_async(bus())
    assert code == 4401
    assert any(m["op"] == "error" and "too many refused tokens" in m["message"] for m in messages), messages
    assert not any(m["op"] == "event" for m in messages)


def test_refused_auth_messages_on_the_bus_count_too(hub):
    async def guess(token):
        async with connect(hub.ws_url, proxy=None, open_timeout=10) as ws:
            await ws.recv()  # hello
            await ws.send(json.dumps({"op": "auth", "token": token}))
            try:
                while True:
                    await ws.recv()
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None

    for attempt in range(10):
        assert run_async(guess(f"shb_11111111_{attempt:043d}")) == 4401
    status, body = http_get(hub.url + "api/v1/devices", hub.staff_token)
    assert status == 429, f"{status} {body}"
