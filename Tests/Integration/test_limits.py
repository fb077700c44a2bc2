"""Slow and hostile clients: every bus limit refuses cleanly, with the documented error code or close code.

A stalled reader is a raw socket with a small receive buffer that stops reading: the hub's writes back up
into the hub itself, as with a client that hangs. Limits are set low in each hub's config so that tests
reach them quickly; none of the assertions depends on how fast the machine is.
"""

import asyncio
import base64
import json
import os
import re
import socket
import struct
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import REPO, open_bus, run_async

TOPIC = "test.limits"


def limits_hub(hub_factory, tmp_path, bus, listen=None):
    """A hub without devices whose config's `bus` section is `bus`."""
    (tmp_path / "devices").mkdir(exist_ok=True)
    config = tmp_path / "hub.json"
    config.write_text(json.dumps({"hub": "limits", "listen": listen or {"port": 0}, "devices": "devices",
                                  "bus": bus}))
    return hub_factory.start_config(config)


class RawClient:
    """A WebSocket client on a plain socket: it reads only when told to, and never answers a ping by itself."""

    def __init__(self, hub, token, receive_buffer=None, path="/api/v1/bus"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", hub.port))
        key = base64.b64encode(os.urandom(16)).decode()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{hub.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"{auth}\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            assert chunk, "the hub closed the connection during the upgrade"
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), f"upgrade refused: {head[:200]!r}"

    def send(self, opcode, payload):
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_json(self, **message):
        self.send(0x1, json.dumps(message).encode())

    def _read(self, count, deadline):
        while len(self.buffer) < count:
            left = deadline - time.monotonic()
            assert left > 0, "timed out reading from the hub"
            self.sock.settimeout(left)
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("the hub closed the TCP connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def frame(self, timeout=10.0):
        """(opcode, payload) of the next frame."""
        deadline = time.monotonic() + timeout
        first, second = self._read(2, deadline)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read(2, deadline))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read(8, deadline))
        return first & 0x0F, self._read(length, deadline)

    def until_close(self, timeout=30.0):
        """Reads until the close frame: returns (close code, reason, JSON messages read before it)."""
        deadline = time.monotonic() + timeout
        messages = []
        while True:
            opcode, payload = self.frame(max(0.1, deadline - time.monotonic()))
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return code, payload[2:].decode("utf-8", "replace"), messages
            if opcode == 0x1:
                messages.append(json.loads(payload))

    def close(self):
        self.sock.close()


def wait_for_log(hub, pattern, timeout=60.0, what="a log line"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, hub.stderr_text())
        if match:
            return match
        time.sleep(0.1)
    raise AssertionError(f"no {what} ({pattern}) in the hub's log within {timeout:.0f} s")


async def publish_many(client, count, size, first_ref=0):
    """Publishes `count` events of about `size` bytes without waiting in between; returns their sequences."""
    filler = "x" * size
    for index in range(count):
        await client.send(op="publish", topic=TOPIC, type="it.limits", data={"n": first_ref + index, "pad": filler},
                          ref=f"p{first_ref + index}")
    sequences = []
    while len(sequences) < count:
        message = await client.until(lambda m: m["op"] in ("published", "error"), 30, "published")
        assert message["op"] == "published", f"publish refused: {message}"
        sequences.append(message["sequence"])
    return sequences


async def publish_until_cut_off(hub, delivered=None):
    """Publishes 4 kB events in batches of 100 until the hub has closed a stalled reader (at most 6000); returns
    their sequences. With `delivered` (a list a reading subscriber fills), each batch waits until that reader is at
    most one batch behind, so only the stalled one falls behind."""
    publisher = await open_bus(hub, hub.admin_token)
    published = []
    for _ in range(60):
        while delivered is not None and len(delivered) < len(published) - 100:
            await asyncio.sleep(0.01)
        published += await publish_many(publisher, 100, 4000, first_ref=len(published))
        if "closed (4008)" in hub.stderr_text():
            break
    return published


# MARK: connections, subscriptions, message size, publish rate


def test_a_connection_over_bus_max_connections_is_refused_with_1013(hub_factory, tmp_path):
    hub = limits_hub(hub_factory, tmp_path, {"maxConnections": 3})

    async def scenario():
        clients = [await open_bus(hub, hub.admin_token) for _ in range(3)]
        async with connect(hub.ws_url, additional_headers={"Authorization": f"Bearer {hub.admin_token}"},
                           proxy=None, open_timeout=10, close_timeout=5) as ws:
            seen = []
            try:
                async with asyncio.timeout(10):
                    async for raw in ws:
                        seen.append(json.loads(raw))
            except ConnectionClosed:
                pass
            code = ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None
        assert code == 1013, f"the fourth connection closed with {code}, expected 1013; messages {seen}"
        errors = [m for m in seen if m["op"] == "error"]
        assert errors and errors[0]["code"] == "too_many_connections", seen
        assert "bus.maxConnections" in errors[0]["message"]
        assert not any(m["op"] in ("authenticated", "event") for m in seen)
        # The three it let in still work, and a place that frees up can be taken again.
        for client in clients:
            await client.ping()
        await clients[0].close()
        for _ in range(100):
            if hub.get("healthz")[1]["connections"] < 3:
                break
            await asyncio.sleep(0.05)
        again = await open_bus(hub, hub.admin_token)
        await again.ping()

    run_async(scenario())
    assert "refused: 3 connections open, bus.maxConnections is 3" in hub.stderr_text()


def test_a_subscription_over_the_per_connection_limit_is_refused_and_the_connection_stays(hub_factory, tmp_path):
    hub = limits_hub(hub_factory, tmp_path, {"maxSubscriptionsPerConnection": 2})

    async def scenario():
        client = await open_bus(hub, hub.admin_token)
        await client.subscribe("a", "test.a")
        await client.subscribe("b", "test.b")
        await client.send(op="subscribe", id="c", topic="test.c", ref="third")
        refusal = await client.until(lambda m: m["op"] in ("subscribed", "error"), 5, "the third subscribe's answer")
        assert refusal["op"] == "error" and refusal["code"] == "too_many_subscriptions", refusal
        assert refusal.get("ref") == "third" and "bus.maxSubscriptionsPerConnection" in refusal["message"]
        # Still open, still subscribed; freeing one makes room.
        await client.ping()
        await client.send(op="unsubscribe", id="a")
        await client.until(lambda m: m["op"] == "unsubscribed", 5, "unsubscribed")
        await client.subscribe("c", "test.c")

    run_async(scenario())


def test_a_message_over_bus_max_message_bytes_closes_with_1009(hub_factory, tmp_path):
    hub = limits_hub(hub_factory, tmp_path, {"maxMessageBytes": 2048})

    async def scenario():
        client = await open_bus(hub, hub.admin_token)
        await client.publish(TOPIC, {"pad": "x" * 1000}, "fits")
        await client.send(op="publish", topic=TOPIC, type="it.limits", data={"pad": "x" * 4000}, ref="too-big")
        await client.closed(10, "the close after an oversize message")
        assert client.close_code == 1009, f"closed with {client.close_code}, expected 1009"

    run_async(scenario())


def test_a_token_over_its_publish_rate_is_refused_on_all_its_connections(hub_factory, tmp_path):
    # One publish per 100 s after a burst of 3: the fourth publish is over the rate however slow the machine.
    hub = limits_hub(hub_factory, tmp_path, {"publishRatePerToken": 0.01, "publishBurst": 3})

    async def scenario():
        first = await open_bus(hub, hub.admin_token)
        second = await open_bus(hub, hub.admin_token)
        for ref in ("r1", "r2"):
            await first.publish(TOPIC, {}, ref)
        await second.publish(TOPIC, {}, "r3")
        for client, ref in ((first, "r4"), (second, "r5")):
            await client.send(op="publish", topic=TOPIC, type="it.limits", data={}, ref=ref)
            refusal = await client.until(lambda m: m.get("ref") == ref, 5, f"the answer to {ref}")
            assert refusal["op"] == "error" and refusal["code"] == "rate_limited", refusal
            assert "bus.publishRatePerToken" in refusal["message"] and "retry in" in refusal["message"]
            await client.ping()  # a refused publish does not close the connection
        return hub.get(f"api/v1/events?topic={TOPIC}", hub.admin_token)

    status, body = run_async(scenario())
    assert status == 200 and len(body["events"]) == 3, f"expected exactly the 3 accepted events: {body}"


# MARK: stalled readers


def test_a_stalled_reader_is_closed_with_4008_and_does_not_hold_back_the_others(hub_factory, tmp_path):
    limit = 2 << 20
    hub = limits_hub(hub_factory, tmp_path, {"maxQueuedBytesPerConnection": limit, "liveBuffer": 100000,
                                             "publishRatePerToken": 1e6, "publishBurst": 1000000})
    stalled = RawClient(hub, hub.admin_token, receive_buffer=4096)
    stalled.send_json(op="subscribe", id="s", topic="test.>")

    async def scenario():
        reader = await open_bus(hub, hub.admin_token)
        await reader.subscribe("r", "test.>")
        delivered = []

        async def read():
            while True:
                message = await reader.until(lambda m: m["op"] in ("event", "dropped"), 60, "the reader's events")
                assert message["op"] == "event", f"the reading subscriber lost events: {message}"
                delivered.append(message["event"]["sequence"])

        reading = asyncio.create_task(read())
        published = await publish_until_cut_off(hub, delivered)
        for _ in range(6000):
            if len(delivered) >= len(published) or reading.done():
                break
            await asyncio.sleep(0.01)
        reading.cancel()
        try:
            await reading
        except asyncio.CancelledError:
            pass
        return published, delivered

    published, delivered = run_async(scenario())
    match = wait_for_log(hub, r"bus connection from \S+ closed \(4008\): (\d+) bytes queued unread, "
                              rf"over bus\.maxQueuedBytesPerConnection {limit}", what="the slow consumer line")
    assert int(match.group(1)) > limit
    assert hub.stderr_text().count("closed (4008)") == 1, "a connection other than the stalled one was closed"
    assert delivered == published, "the subscriber that reads got other events than were published, or out of order"
    code, reason, messages = stalled.until_close()
    stalled.close()
    assert code == 4008, f"the stalled reader was closed with {code} ({reason}), expected 4008"
    errors = [m for m in messages if m["op"] == "error"]
    assert errors and errors[-1]["code"] == "slow_consumer", f"no slow_consumer error before the close: {errors}"
    assert len([m for m in messages if m["op"] == "event"]) < len(published)


def test_a_durable_consumer_closed_for_reading_too_slowly_loses_nothing(hub_factory, tmp_path):
    hub = limits_hub(hub_factory, tmp_path, {"maxQueuedBytesPerConnection": 1 << 20, "liveBuffer": 100000,
                                             "maxInFlight": 100000, "publishRatePerToken": 1e6,
                                             "publishBurst": 1000000})
    stalled = RawClient(hub, hub.admin_token, receive_buffer=4096)
    stalled.send_json(op="subscribe", id="orders", topic="test.>", durable="slow-orders", window=100000)
    stalled.send_json(op="subscribe", id="live", topic="test.>")

    async def scenario():
        published = await publish_until_cut_off(hub)
        wait_for_log(hub, r"closed \(4008\)", what="the slow consumer line")
        stalled.close()
        # The consumer comes back on a connection it reads: everything, from its cursor (nothing was acked).
        consumer = await open_bus(hub, hub.admin_token)
        subscribed = await consumer.subscribe("orders", "test.>", durable="slow-orders")
        assert subscribed["from"] == 1, subscribed
        delivered = []
        while len(delivered) < len(published):
            message = await consumer.until(lambda m: m["op"] == "event", 30, "the durable consumer's events")
            delivered.append(message["event"]["sequence"])
            if len(delivered) % 100 == 0:
                await consumer.send(op="ack", durable="slow-orders", sequence=delivered[-1])
        return published, delivered

    published, delivered = run_async(scenario())
    assert delivered == published, f"durable consumer got {len(delivered)} events, {len(published)} were accepted"


# MARK: keepalive


def test_a_client_that_does_not_answer_pings_is_closed_after_the_idle_timeout(hub_factory, tmp_path):
    hub = limits_hub(hub_factory, tmp_path, {"pingIntervalSeconds": 2})
    silent = RawClient(hub, hub.admin_token)
    pings = 0
    close = None
    deadline = time.monotonic() + 30
    while close is None and time.monotonic() < deadline:
        opcode, payload = silent.frame(timeout=30)
        if opcode == 0x9:
            pings += 1
        elif opcode == 0x8:
            close = struct.unpack("!H", payload[:2])[0], payload[2:].decode()
    silent.close()
    assert pings >= 1, "the hub sent no ping"
    assert close is not None and close[0] == 1001, f"closed with {close}, expected 1001 (ping timeout)"

    async def answering():
        # A client whose library answers pings stays connected across several intervals.
        client = await open_bus(hub, hub.admin_token)
        for _ in range(3):
            await asyncio.sleep(2)
            await client.ping()

    run_async(answering())


# MARK: configuration


def test_limits_out_of_range_are_config_errors_naming_the_key(hub_factory, tmp_path):
    (tmp_path / "devices").mkdir()
    cases = [({"maxConnections": 0}, "bus.maxConnections"), ({"publishRatePerToken": 0}, "bus.publishRatePerToken"),
             ({"pingIntervalSeconds": 0.1}, "bus.pingIntervalSeconds"),
             ({"maxQueuedBytesPerConnection": 100}, "bus.maxQueuedBytesPerConnection")]
    for bus, key in cases:
        config = tmp_path / "hub.json"
        config.write_text(json.dumps({"hub": "limits", "listen": {"port": 0}, "devices": "devices", "bus": bus}))
        code, _, err, ready = hub_factory.run_to_exit(["run", "--config", str(config), "--port", "0"])
        assert code == 78 and not ready, f"{bus}: exit {code}"
        assert key in err, f"{bus}: the error does not name {key}: {err}"


def test_the_conformance_echo_needs_loopback_and_an_admin_token(hub_factory, tmp_path):
    (tmp_path / "devices").mkdir()
    config = tmp_path / "open.json"
    config.write_text(json.dumps({"hub": "limits", "listen": {"host": "0.0.0.0", "port": 0}, "devices": "devices",
                                  "bus": {"conformanceEcho": True}}))
    code, _, err, ready = hub_factory.run_to_exit(["run", "--config", str(config), "--port", "0"])
    assert code == 78 and not ready and "conformanceEcho" in err, err

    hub = limits_hub(hub_factory, tmp_path, {"conformanceEcho": True})
    echo = RawClient(hub, None, path=f"/api/v1/bus?echo={hub.admin_token}")
    echo.send(0x1, b'{"op":"not the bus protocol"}')
    assert echo.frame() == (0x1, b'{"op":"not the bus protocol"}')
    echo.close()
    wrong = RawClient(hub, None, path="/api/v1/bus?echo=shb_00000000_wrong")
    opcode, payload = wrong.frame()
    assert opcode == 0x1 and json.loads(payload)["op"] == "hello", "a wrong echo token must get the bus itself"
    wrong.close()


def test_without_conformance_echo_the_echo_query_is_the_bus(hub_factory, tmp_path):
    hub = limits_hub(hub_factory, tmp_path, {})
    client = RawClient(hub, None, path=f"/api/v1/bus?echo={hub.admin_token}")
    opcode, payload = client.frame()
    assert opcode == 0x1 and json.loads(payload) == {**json.loads(payload), "op": "hello", "authenticated": False}
    client.close()
