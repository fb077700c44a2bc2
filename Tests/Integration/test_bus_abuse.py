"""What the lowest-rights tokens tried against a running hub (issue 19): fake topics, wild landmarks, other owners'
durable consumers, retained-status floods, and a refused connection that goes on sending. Real WebSocket clients
against the real binary."""

import asyncio
import json
import subprocess
import urllib.parse

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import BINARY, fetch_events, http_get, open_bus, run_async


def device_token(hub, device):
    return subprocess.run([str(BINARY), "token", "create", "--role", "device", "--device", device,
                           "--state", str(hub.state_dir)], capture_output=True, text=True, check=True).stdout.strip()


def service_token(hub):
    return subprocess.run([str(BINARY), "token", "create", "--role", "service", "--label", "it-orders",
                           "--state", str(hub.state_dir)], capture_output=True, text=True, check=True).stdout.strip()


def assert_alive(hub):
    status, body = http_get(hub.url + "healthz")
    assert status == 200, f"the hub stopped answering: {status} {body}"


def test_a_topic_with_a_nul_is_refused_and_does_not_spoof_another_devices_status(shared_hub):
    token = device_token(shared_hub, "dev1")
    fake = "device.status.mirror-1\u0000.dev1"

    async def scenario():
        attacker = await open_bus(shared_hub, token)
        await attacker.send(op="publish", topic=fake, type="storehub.device.status",
                            data={"device": "mirror-1", "state": "failed", "reason": "spoofed"}, ref="nul")
        refused = await attacker.reply("error", "nul")
        assert refused["code"] == "bad_request", refused
        # The NUL is named, escaped: the message itself holds no control character.
        assert "segment 3" in refused["message"] and "\\0" in refused["message"], refused
        assert "\x00" not in refused["message"], refused
        for bad in ("scan.#.dev1", "scan.+.dev1", "Scan.dev1", "scan.dev 1.dev1"):
            await attacker.send(op="publish", topic=bad, type="it", data={}, ref=bad)
            assert (await attacker.reply("error", bad))["code"] == "bad_request", bad
        await attacker.send(op="subscribe", id="s", topic="mirror.command.dev1\u0000")
        assert (await attacker.until(lambda m: m["op"] == "error", 5, "the subscribe refusal"))["code"] == "bad_request"
        # A status page subscribing now sees no spoofed retained status of mirror-1.
        staff = await open_bus(shared_hub, shared_hub.staff_token)
        await staff.subscribe("status", "device.status.>")
        await staff.ping()
        await asyncio.sleep(0.5)
        pong = await staff.ping()
        return list(staff.recent), pong

    seen, _ = run_async(scenario())
    assert not any(m.get("op") == "event" and "spoofed" in json.dumps(m) for m in seen), seen
    events = fetch_events(shared_hub, shared_hub.staff_token, topic="device.status.>")
    assert not [e for e in events if "spoofed" in json.dumps(e)], "the fake status reached the log"
    query = urllib.parse.urlencode({"topic": "device.status.mirror-1\u0000.dev1"})
    status, body = shared_hub.get(f"api/v1/events?{query}", shared_hub.staff_token)
    assert status == 400, f"REST accepted a topic with a NUL: {status} {body}"
    assert_alive(shared_hub)


def test_landmarks_far_outside_the_frame_are_refused_and_the_hub_keeps_running(shared_hub):
    token = device_token(shared_hub, "mirror-1")
    wild = {"width": 1280, "height": 720, "outer": [[1e30, 1e30], [-1e30, 5], [5, 1e30]]}

    async def scenario():
        tracker = await open_bus(shared_hub, token)
        await tracker.send(op="publish", topic="mirror.landmarks.mirror-1", type="it.landmarks", data=wild, ref="wild")
        refused = await tracker.reply("error", "wild")
        assert refused["code"] == "bad_request" and "outside" in refused["message"], refused
        good = {"width": 1280, "height": 720, "outer": [[600, 400], [680, 400], [640, 430]]}
        assert await tracker.publish("mirror.landmarks.mirror-1", good, ref="good") > 0
        await asyncio.sleep(1)

    run_async(scenario())
    assert_alive(shared_hub)


def test_a_device_token_cannot_take_over_a_services_durable_consumer(shared_hub):
    device = device_token(shared_hub, "dev2")
    service = service_token(shared_hub)

    async def scenario():
        orders = await open_bus(shared_hub, service)
        await orders.subscribe("orders", "scan.>", durable="order-service")
        intruder = await open_bus(shared_hub, device)
        await intruder.subscribe("x", "mirror.command.dev2", durable="order-service")
        admin = await open_bus(shared_hub, shared_hub.admin_token)
        sequence = await admin.publish("scan.it-owner", {"n": 1}, ref="scan")
        message = await orders.until(
            lambda m: m["op"] == "error" or (m["op"] == "event" and m["event"]["sequence"] == sequence), 10,
            "the scan on the service's consumer")
        assert message["op"] == "event", f"the service lost its consumer: {message}"
        await orders.send(op="ack", durable="order-service", sequence=sequence)
        await orders.ping()

        uplink = await open_bus(shared_hub, service)
        await uplink.subscribe("u", "scan.>", durable="uplink", **{"from": 1})
        await uplink.send(op="ack", durable="uplink", sequence=sequence)
        await uplink.ping()

    run_async(scenario())
    status, hub = shared_hub.get("api/v1/hub", shared_hub.admin_token)
    assert status == 200, hub
    names = {c["name"] for c in hub["consumers"]}
    assert "service/order-service" in names and "service/uplink" in names, names
    assert "uplink" not in names and "order-service" not in names, names


async def authenticate_publish_and_read_to_close(ws, token, topic, marker):
    """Sends an auth and a publish without waiting for answers, then reads until the hub closes; returns what
    it read."""
    try:
        await ws.send(json.dumps({"op": "auth", "token": token}))
        await ws.send(json.dumps({"op": "publish", "topic": topic, "type": "it", "data": {"marker": marker}}))
    except ConnectionClosed:
        pass  # a refused connection may be closed before this; what it was told is still read below
    seen = []
    try:
        async with asyncio.timeout(10):
            async for raw in ws:
                seen.append(json.loads(raw))
    except (ConnectionClosed, TimeoutError):
        pass
    return seen


def test_a_connection_refused_for_its_origin_handles_nothing_it_sent_before_its_close(shared_hub):
    marker = "it-refused-origin"

    async def scenario():
        async with connect(shared_hub.ws_url, origin="http://evil.example", proxy=None, open_timeout=10,
                           close_timeout=5) as ws:
            return await authenticate_publish_and_read_to_close(ws, shared_hub.admin_token, "scan.it-origin", marker)

    seen = run_async(scenario())
    assert not any(m["op"] in ("authenticated", "published") for m in seen), seen
    events = fetch_events(shared_hub, shared_hub.staff_token, topic="scan.>")
    assert not [e for e in events if marker in json.dumps(e)], "a refused connection's publish was accepted"


def write_config(root, bus):
    (root / "devices").mkdir(parents=True, exist_ok=True)
    config = root / "hub.json"
    config.write_text(json.dumps({"hub": "it-flood", "devices": "devices", "bus": bus}))
    return config


def test_many_large_retained_statuses_reach_a_new_subscriber_without_closing_it(hub_factory, tmp_path):
    hub = hub_factory.start_config(write_config(tmp_path, {"maxQueuedBytesPerConnection": 65536}))
    pad = "x" * 4000

    async def scenario():
        admin = await open_bus(hub, hub.admin_token)
        for batch in range(0, 200, 50):
            for n in range(batch, batch + 50):
                await admin.send(op="publish", topic=f"device.status.it-{n}", type="storehub.device.status",
                                 data={"device": f"it-{n}", "state": "online", "pad": pad}, ref=f"s{n}")
            for n in range(batch, batch + 50):
                await admin.reply("published", f"s{n}", timeout=20)
        # 200 statuses of 4 KB: twelve times what a connection may leave unread.
        page = await open_bus(hub, hub.admin_token)
        await page.subscribe("status", "device.status.>")
        devices = set()
        while len(devices) < 200:
            message = await page.until(lambda m: m["op"] in ("event", "error"), 20, "the retained statuses")
            assert message["op"] == "event", f"the subscriber got {message}"
            devices.add(message["event"]["subject"])
        await page.ping()
        return devices

    assert len(run_async(scenario())) == 200


def test_a_device_token_may_not_flood_retained_statuses(shared_hub):
    token = device_token(shared_hub, "dev3")

    async def scenario():
        device = await open_bus(shared_hub, token)
        await device.send(op="publish", topic="device.status.it-other.dev3", type="it", data={}, ref="other")
        assert (await device.reply("error", "other"))["code"] == "forbidden"
        await device.send(op="publish", topic="device.status.dev3", type="it", data={"pad": "x" * 20000}, ref="big")
        assert (await device.reply("error", "big"))["code"] == "too_large"
        assert await device.publish("device.status.dev3", {"state": "online"}, ref="own") > 0

    run_async(scenario())


def test_a_connection_over_the_limit_handles_nothing_it_sent_before_its_close(hub_factory, tmp_path):
    hub = hub_factory.start_config(write_config(tmp_path, {"maxConnections": 1}))
    marker = "it-over-the-limit"

    async def scenario():
        first = await open_bus(hub, hub.admin_token)
        async with connect(hub.ws_url, proxy=None, open_timeout=10, close_timeout=5) as ws:
            seen = await authenticate_publish_and_read_to_close(ws, hub.admin_token, "scan.it-limit", marker)
        await first.ping()
        return seen

    seen = run_async(scenario())
    assert any(m.get("code") == "too_many_connections" for m in seen), seen
    assert not any(m["op"] in ("authenticated", "published") for m in seen), seen
    events = fetch_events(hub, hub.admin_token, topic="scan.>")
    assert not [e for e in events if marker in json.dumps(e)], "a refused connection's publish was accepted"
