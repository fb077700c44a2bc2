"""The MQTT uplink against real brokers on loopback: Mosquitto, and a 3-node NATS cluster with JetStream and its
MQTT listener. A paho-mqtt subscriber with a persistent session checks what arrives."""

import asyncio
import json
import re
import signal
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import fetch_events, open_bus, run_async
from uplink_brokers import Checker, Mosquitto, NatsCluster, make_ca

STORE = "store-it"
HUB = "hub-it"
PREFIX = f"chain/{STORE}/"
MAX_IN_FLIGHT = 32


def write_config(root, brokers, **uplink):
    devices = root / "devices"
    devices.mkdir(parents=True, exist_ok=True)
    config = root / "hub.json"
    section = {"brokers": brokers, "store": STORE, "keepaliveSeconds": 5, "maxInFlight": MAX_IN_FLIGHT,
               "backlogWarning": 100, **uplink}
    config.write_text(json.dumps({"hub": HUB, "devices": "devices", "uplink": section}))
    return config


async def publish_many(client, count, start=0, topic=lambda n: f"scan.it-kiosk-{n % 3}", batch=50):
    """Publishes `count` events (n = start...) in pipelined batches; returns {sequence: (topic, n)}."""
    accepted = {}
    for offset in range(0, count, batch):
        numbers = range(start + offset, start + min(count, offset + batch))
        for n in numbers:
            await client.send(op="publish", topic=topic(n), type="it.scan", data={"n": n}, ref=f"p{n}")
        for n in numbers:
            reply = await client.reply("published", f"p{n}", timeout=10)
            accepted[reply["sequence"]] = (topic(n), n)
    return accepted


def uplink_status(hub):
    status, body = hub.get("api/v1/hub", hub.admin_token)
    assert status == 200, body
    return body["uplink"]


def status_when(hub, predicate, timeout, what):
    """Polls the hub's uplink status until `predicate(status)` holds; returns that status."""
    found = []
    wait_until(lambda: predicate(status := uplink_status(hub)) and not found.append(status), timeout, what)
    return found[0]


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def assert_in_order_with_only_unacknowledged_duplicates(events, accepted, reconnects):
    """Every accepted event arrived; first arrivals are in sequence order; duplicates are bounded by what can be
    unacknowledged at a cut (the in-flight window, per reconnect)."""
    sequences = [event["sequence"] for _, event in events]
    first_seen = []
    seen = set()
    for sequence in sequences:
        if sequence not in seen:
            seen.add(sequence)
            first_seen.append(sequence)
    missing = set(accepted) - seen
    assert not missing, f"{len(missing)} accepted events never arrived: {sorted(missing)[:10]}"
    assert first_seen == sorted(first_seen), "events arrived out of order"
    duplicates = len(sequences) - len(seen)
    assert duplicates <= MAX_IN_FLIGHT * max(1, reconnects), (
        f"{duplicates} duplicates for {reconnects} reconnects: more than the unacknowledged window")
    for topic, event in events:
        expected_topic, n = accepted[event["sequence"]]
        assert topic == PREFIX + expected_topic.replace(".", "/")
        assert event["data"] == {"n": n} and event["subject"] == expected_topic


def publish_through(hub, disruption, minimum):
    """Publishes events in batches while `disruption` runs in a thread, and at least `minimum` of them;
    returns {sequence: (topic, n)} of every accepted event."""
    done = threading.Event()
    failure = []

    def run():
        try:
            disruption()
        except BaseException as error:  # reported in the test's thread
            failure.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=run)
    thread.start()

    async def scenario():
        client = await open_bus(hub, hub.admin_token)
        accepted = {}
        n = 0
        while not done.is_set() or n < minimum:
            accepted.update(await publish_many(client, 30, start=n))
            n += 30
            await asyncio.sleep(0.01)
        return accepted

    accepted = run_async(scenario())
    thread.join()
    if failure:
        raise failure[0]
    return accepted


@pytest.fixture
def mosquitto(tmp_path):
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()


def test_events_reach_mosquitto_with_their_topics_and_payloads(hub_factory, tmp_path, mosquitto):
    checker = Checker(mosquitto.port, PREFIX + "#", "it-checker-topics")
    checker.start()
    try:
        hub = hub_factory.start_config(write_config(tmp_path, [mosquitto.url]))
        wait_until(lambda: uplink_status(hub)["connected"], 20, "the uplink to connect")

        async def scenario():
            client = await open_bus(hub, hub.admin_token)
            accepted = await publish_many(client, 60)
            # A topic that is not configured to go up.
            await client.publish("test.local.only", {"n": -1}, ref="local")
            return accepted

        accepted = run_async(scenario())
        events = checker.wait_for_sequences(PREFIX, accepted, 20)
        assert len(events) == len(accepted), "an event arrived twice or a local-only topic went up"
        for topic, event in events:
            expected_topic, n = accepted[event["sequence"]]
            assert topic == PREFIX + expected_topic.replace(".", "/")
            assert event["subject"] == expected_topic and event["type"] == "it.scan" and event["data"] == {"n": n}
            assert event["specversion"] == "1.0"
        assert [event["sequence"] for _, event in events] == sorted(accepted)

        online = [json.loads(p) for t, p, _ in checker.snapshot() if t == f"{PREFIX}hub/{HUB}/status"]
        assert online and online[-1]["online"] is True, f"no online status: {online}"
        status = status_when(hub, lambda s: s["backlog"] == 0 and s["inFlight"] == 0, 10, "the backlog to drain")
        assert status["connected"] is True and status["lastPubackAt"] is not None
        assert status["acknowledged"] >= len(accepted)
        assert status["clientId"] == f"storehub-{STORE}-{HUB}"
        _, metrics = hub.get("metrics", hub.admin_token)
        families = {family.name: family for family in text_string_to_metric_families(metrics)}
        assert families["storehub_uplink_connected"].samples[0].value == 1
        assert families["storehub_uplink_backlog_events"].samples[0].value == 0
        assert families["storehub_uplink_last_puback_timestamp_seconds"].samples[0].value > 0
    finally:
        checker.stop()


def test_broker_commands_reach_the_bus_with_staff_rights_only(hub_factory, tmp_path, mosquitto):
    hub = hub_factory.start_config(write_config(tmp_path, [mosquitto.url]))
    wait_until(lambda: uplink_status(hub)["commandsSubscribed"], 20, "the command subscription")
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="it-chain-commands", protocol=mqtt.MQTTv311)
    sender.connect("127.0.0.1", mosquitto.port)
    sender.loop_start()
    try:
        allowed = {"type": "mirror.shade", "data": {"shade": "ruby-07"}}
        sender.publish(PREFIX + "command/mirror/command/mirror-1", json.dumps(allowed), qos=1).wait_for_publish(5)
        # Staff may not publish scans, so neither may the chain.
        sender.publish(PREFIX + "command/scan/it-kiosk-0", json.dumps({"type": "x"}), qos=1).wait_for_publish(5)
        sender.publish(PREFIX + "command/device/command/k1", b"not json", qos=1).wait_for_publish(5)
        wait_until(lambda: uplink_status(hub)["commandsRejected"] >= 2 and uplink_status(hub)["commandsAccepted"] >= 1,
                   10, "the commands to be handled")
    finally:
        sender.loop_stop()
        sender.disconnect()
    events = fetch_events(hub, hub.admin_token)
    commands = [e for e in events if e["subject"] == "mirror.command.mirror-1"]
    assert len(commands) == 1 and commands[0]["data"] == {"shade": "ruby-07"} and commands[0]["type"] == "mirror.shade"
    assert commands[0]["source"] == f"storehub://{HUB}/uplink"
    assert not [e for e in events if e["subject"].startswith("scan.") or e["subject"].startswith("device.command")]
    status = uplink_status(hub)
    assert status["commandsAccepted"] == 1 and status["commandsRejected"] == 2


def test_mosquitto_restarted_while_events_flow_loses_nothing(hub_factory, tmp_path, mosquitto):
    checker = Checker(mosquitto.port, PREFIX + "#", "it-checker-restart")
    checker.start()
    try:
        hub = hub_factory.start_config(write_config(tmp_path, [mosquitto.url]))
        wait_until(lambda: uplink_status(hub)["connected"], 20, "the uplink to connect")

        def outage():
            wait_until(lambda: len(checker.events(PREFIX)) >= 150, 30, "events to flow before the outage")
            mosquitto.stop(signal.SIGTERM)  # SIGTERM: mosquitto saves its persistent sessions, see docs/uplink.md
            time.sleep(2)
            mosquitto.start()

        accepted = publish_through(hub, outage, 900)
        events = checker.wait_for_sequences(PREFIX, accepted, 60)
        status = uplink_status(hub)
        assert status["connects"] >= 2, f"the uplink never reconnected: {status}"
        assert_in_order_with_only_unacknowledged_duplicates(events, accepted, status["connects"] - 1)
        wait_until(lambda: uplink_status(hub)["backlog"] == 0, 10, "the backlog to drain")
    finally:
        checker.stop()


def test_hub_killed_with_a_backlog_sends_the_rest_after_restart(hub_factory, tmp_path, mosquitto):
    checker = Checker(mosquitto.port, PREFIX + "#", "it-checker-kill9")
    checker.start()
    try:
        config = write_config(tmp_path, [mosquitto.url])
        state = tmp_path / "state"
        hub = hub_factory.start_config(config, state_dir=state)
        wait_until(lambda: uplink_status(hub)["connected"], 20, "the uplink to connect")
        client_token = hub.admin_token

        async def publish(count, start):
            client = await open_bus(hub, client_token)
            return await publish_many(client, count, start=start)

        delivered = run_async(publish(100, 0))
        checker.wait_for_sequences(PREFIX, delivered, 20)
        wait_until(lambda: uplink_status(hub)["backlog"] == 0, 10, "the first events to be acknowledged")

        mosquitto.stop()
        backlog = run_async(publish(300, 100))
        status = status_when(hub, lambda s: not s["connected"], 10, "the disconnect")
        assert status["backlog"] == 300, f"backlog should be the 300 unsent events: {status}"
        _, metrics = hub.get("metrics", hub.admin_token)
        assert "storehub_uplink_backlog_events 300" in metrics
        # backlogWarning is 100: the warning comes while no broker answers, once the backlog passed it.
        warned = wait_until(lambda: re.search(r"uplink: (\d+) events wait for the broker", hub.stderr_text()), 10,
                            "the backlog warning")
        assert int(warned.group(1)) > 100
        hub.kill()

        mosquitto.start()
        hub = hub_factory.start_config(config, state_dir=state, name="restart")
        events = checker.wait_for_sequences(PREFIX, {**delivered, **backlog}, 30)
        counts = {}
        for _, event in events:
            counts[event["sequence"]] = counts.get(event["sequence"], 0) + 1
        assert all(counts[s] == 1 for s in delivered), "an acknowledged event was sent again after the restart"
        assert_in_order_with_only_unacknowledged_duplicates(events, {**delivered, **backlog}, 1)
    finally:
        checker.stop()


def test_tls_with_a_pinned_ca_connects_and_another_ca_is_refused(hub_factory, tmp_path):
    pinned = make_ca(tmp_path / "pki", "chain")
    other = make_ca(tmp_path / "pki", "other")
    broker = Mosquitto(tmp_path / "mosquitto-tls", tls=pinned)
    broker.start()
    checker = Checker(broker.port, PREFIX + "#", "it-checker-tls")
    try:
        checker.client.tls_set(ca_certs=str(pinned["ca"]))
        checker.start()
        url = f"mqtts://127.0.0.1:{broker.port}"
        trusted = hub_factory.start_config(
            write_config(tmp_path / "trusted", [url], caFile=str(pinned["ca"]), serverName="localhost"))
        wait_until(lambda: uplink_status(trusted)["connected"], 20, "the TLS uplink to connect")

        async def scenario():
            client = await open_bus(trusted, trusted.admin_token)
            return await publish_many(client, 20)

        accepted = run_async(scenario())
        checker.wait_for_sequences(PREFIX, accepted, 20)

        refused = hub_factory.start_config(
            write_config(tmp_path / "refused", [url], caFile=str(other["ca"]), serverName="localhost"))
        status = status_when(refused, lambda s: s["lastError"], 20, "the TLS failure")
        assert status["connected"] is False and status["connects"] == 0
        assert "certificate" in status["lastError"].lower() or "handshake" in status["lastError"].lower(), status
    finally:
        checker.stop()
        broker.stop()


def test_nats_cluster_node_killed_the_hub_moves_on_and_loses_nothing(hub_factory, tmp_path):
    cluster = NatsCluster(tmp_path / "nats")
    cluster.start()
    checker = None
    try:
        # The MQTT listener answers once JetStream has a meta leader; the checker retries until then.
        checker = Checker(cluster.nodes[2]["mqtt"], PREFIX + "#", "it-checker-nats")
        checker.start(timeout=60)
        hub = hub_factory.start_config(write_config(tmp_path, [cluster.url(0), cluster.url(1), cluster.url(2)]))
        status = status_when(hub, lambda s: s["connected"], 60, "the uplink to connect")
        first = status["broker"]
        index = [cluster.url(i) for i in range(3)].index(first)

        def kill_node():
            wait_until(lambda: len(checker.events(PREFIX)) >= 100, 60, "events to flow before the kill")
            cluster.kill(index)

        accepted = publish_through(hub, kill_node, 600)
        events = checker.wait_for_sequences(PREFIX, accepted, 90)
        status = status_when(hub, lambda s: s["connected"], 30, "a reconnect")
        assert status["broker"] != first, f"the hub did not move off the killed node {first}: {status}"
        assert_in_order_with_only_unacknowledged_duplicates(events, accepted, status["connects"] - 1)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{cluster.logs()}") from None
    finally:
        if checker is not None:
            checker.stop()
        cluster.stop()


def test_bad_uplink_config_is_refused_with_the_key_named(hub_factory, tmp_path):
    config = write_config(tmp_path, ["http://broker.example:1883"])
    code, _, stderr, ready = hub_factory.run_to_exit(["run", "--config", str(config), "--port", "0"])
    assert not ready and code != 0
    assert "uplink" in stderr and "brokers" in stderr and "mqtt://" in stderr, stderr


def test_an_event_the_broker_keeps_refusing_is_set_aside_and_the_rest_flows(hub_factory, tmp_path):
    # The broker drops any client that sends a packet over 2 KB: the hub's large event can never go up.
    broker = Mosquitto(tmp_path / "mosquitto-limited", extra=["max_packet_size 2048"])
    broker.start()
    checker = Checker(broker.port, PREFIX + "#", "it-checker-dead-letter")
    checker.start()
    try:
        hub = hub_factory.start_config(write_config(tmp_path, [broker.url]))
        wait_until(lambda: uplink_status(hub)["connected"], 20, "the uplink to connect")

        async def scenario():
            client = await open_bus(hub, hub.admin_token)
            before = await publish_many(client, 5)
            big = await client.publish("scan.it-kiosk-big", {"pad": "x" * 4000}, ref="big")
            after = await publish_many(client, 5, start=100)
            return before, big, after

        before, big, after = run_async(scenario())
        events = checker.wait_for_sequences(PREFIX, {**before, **after}, 90)
        assert big not in {event["sequence"] for _, event in events}
        status = status_when(hub, lambda s: s["deadLetterCount"] >= 1 and s["backlog"] == 0, 60,
                             "the refused event to be set aside and the backlog to drain")
        assert status["deadLetterCount"] == 1, status
        letter = status["deadLetters"][0]
        assert letter["sequence"] == big and letter["topic"] == "scan.it-kiosk-big", letter
        assert "connection ended 3 times" in letter["reason"], letter
        # The rest keeps flowing on the same uplink.
        more = run_async(publish_more(hub))
        checker.wait_for_sequences(PREFIX, more, 30)
        _, metrics = hub.get("metrics", hub.admin_token)
        families = {family.name: family for family in text_string_to_metric_families(metrics)}
        assert families["storehub_uplink_dead_letters"].samples[0].value == 1
    finally:
        checker.stop()
        broker.stop()


async def publish_more(hub):
    client = await open_bus(hub, hub.admin_token)
    return await publish_many(client, 5, start=200)
