"""Guessing tokens is slowed down: after 10 refused tokens from one address within a minute, that address's refused
tokens are answered "too many" (REST 429 with Retry-After, bus error and close 4401). A good token from the same
address is always served: a guesser sharing an address (a shop's NAT, a kiosk's proxy) locks nobody out."""

import json
import urllib.error
import urllib.request

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import _http, http_get, open_bus, run_async


def bus_with_header(hub, token):
    async def scenario():
        async with connect(hub.ws_url, additional_headers={"Authorization": f"Bearer {token}"},
                           proxy=None, open_timeout=10) as ws:
            messages = []
            try:
                while True:
                    messages.append(json.loads(await ws.recv()))
            except ConnectionClosed as closed:
                return messages, closed.rcvd.code if closed.rcvd else None

    return run_async(scenario())


def test_ten_refused_tokens_make_the_address_wait_but_never_lock_out_a_good_token(hub):
    for attempt in range(10):
        status, body = http_get(hub.url + "api/v1/devices", f"shb_00000000_{attempt:043d}")
        assert status == 401, f"attempt {attempt}: {status} {body}"
    request = urllib.request.Request(hub.url + "api/v1/devices",
                                     headers={"Authorization": "Bearer shb_00000000_" + "9" * 43})
    try:
        _http.open(request, timeout=10)
        raise AssertionError("an eleventh refused token was answered like the first")
    except urllib.error.HTTPError as error:
        assert error.code == 429
        assert 1 <= int(error.headers["Retry-After"]) <= 61
        assert b"too many refused tokens" in error.read()

    status, body = http_get(hub.url + "api/v1/devices", hub.staff_token)
    assert status == 200, f"a good token was refused from an address that guessed: {status} {body}"

    async def good_bus():
        client = await open_bus(hub, hub.staff_token)
        await client.ping()

    run_async(good_bus())

    messages, code = bus_with_header(hub, "shb_00000000_" + "8" * 43)
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
    status, body = http_get(hub.url + "api/v1/devices", "shb_11111111_" + "7" * 43)
    assert status == 429, f"{status} {body}"
    status, body = http_get(hub.url + "api/v1/devices", hub.staff_token)
    assert status == 200, f"{status} {body}"

    async def good_auth_message():
        client = await open_bus(hub, hub.staff_token, auth="op")
        await client.ping()

    run_async(good_auth_message())
