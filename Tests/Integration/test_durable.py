"""Durable consumers and the promise behind `published`: an accepted event survives anything, even kill -9."""

import asyncio
import json
import sqlite3
import time

from websockets.exceptions import ConnectionClosed

from conftest import fetch_events, open_bus, run_async


async def receive_durable(client, sub_id, consumer, count, timeout, ack_every=100):
    """Reads `count` events of a durable subscription, acking as it goes so the window never stalls.
    Returns the events in arrival order."""
    events = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(events) < count:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, (
            f"durable {consumer!r} delivered {len(events)} of {count} events in {timeout} s; "
            f"last sequences {[e['sequence'] for e in events[-5:]]}")
        message = await client.until(lambda m: m["op"] in ("event", "gap", "error"), left, f"event {len(events) + 1}")
        assert message["op"] == "event", f"durable {consumer!r} got {message}"
        assert message["sub"] == sub_id
        events.append(message["event"])
        if len(events) % ack_every == 0:
            await client.send(op="ack", durable=consumer, sequence=message["event"]["sequence"])
    return events


def integrity(database):
    """PRAGMA integrity_check through a read-only connection."""
    connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    try:
        return connection.execute("PRAGMA integrity_check").fetchall()
    finally:
        connection.close()


def test_durable_consumer_gets_every_missed_event_in_order_after_reconnect(hub):
    consumer = "it-orders"
    missed_count = 300  # more than the default window of 256, so delivery has to follow the acks

    async def scenario():
        publisher = await open_bus(hub, hub.admin_token)
        reader = await open_bus(hub, hub.admin_token)
        subscribed = await reader.subscribe("orders", "test.orders.>", durable=consumer)
        assert subscribed.get("from") == 1, f"a new consumer starts at the beginning: {subscribed}"

        sent = {}  # sequence -> (topic, n)
        for n in range(5):
            topic = f"test.orders.{n % 3}"
            sent[await publisher.publish(topic, {"n": n}, ref=f"a{n}")] = (topic, n)
        first = await receive_durable(reader, "orders", consumer, 5, 10)
        assert [e["sequence"] for e in first] == sorted(sent), "first batch not delivered in order"
        acked = first[2]["sequence"]
        await reader.send(op="ack", durable=consumer, sequence=acked)
        await reader.ping()  # the ack has been handled before we hang up
        await reader.close()

        for n in range(5, 5 + missed_count):
            topic = f"test.orders.{n % 3}"
            sent[await publisher.publish(topic, {"n": n}, ref=f"b{n}")] = (topic, n)
        expected = [sequence for sequence in sorted(sent) if sequence > acked]

        reader = await open_bus(hub, hub.admin_token)
        resumed = await reader.subscribe("orders", "test.orders.>", durable=consumer)
        assert resumed.get("from") == acked + 1, f"resumed at {resumed.get('from')}, expected {acked + 1} (after the ack)"
        got = await receive_durable(reader, "orders", consumer, len(expected), 20)
        sequences = [e["sequence"] for e in got]
        assert all(s > acked for s in sequences), f"events up to the ack {acked} delivered again: {sequences[:5]}"
        assert sequences == expected, (
            f"missed events not delivered exactly in order: missing {sorted(set(expected) - set(sequences))[:10]}, "
            f"unexpected {sorted(set(sequences) - set(expected))[:10]}, out of order: {sequences != sorted(sequences)}")
        for event in got:
            topic, n = sent[event["sequence"]]
            assert event["subject"] == topic and event["data"] == {"n": n}, f"wrong event {event}"

        await reader.send(op="ack", durable=consumer, sequence=sequences[-1])
        late = await publisher.publish("test.orders.late", {"n": "late"}, ref="late")
        after = await receive_durable(reader, "orders", consumer, 1, 5)
        assert after[0]["sequence"] == late, f"after acking everything the next event is {after[0]['sequence']}, expected {late}"
        await reader.close()
        await publisher.close()

    run_async(scenario())


def test_kill_9_loses_no_accepted_event(hub_factory):
    first = hub_factory.start()
    admin = first.admin_token
    consumer = "it-kill"

    async def publish_then_kill():
        durable = await open_bus(first, admin)
        await durable.subscribe("kill", "test.kill.>", durable=consumer)
        publisher = await open_bus(first, admin)

        sent = {}  # ref -> topic
        accepted = {}  # ref -> sequence
        refused = []
        throttled = []  # refused by the per-token publish rate (bus.publishRatePerToken): not accepted, not lost
        outstanding = asyncio.Semaphore(256)
        delivered = []
        fence = asyncio.get_running_loop().create_future()

        async def send_forever():
            n = 0
            try:
                while True:
                    await outstanding.acquire()
                    sent[n] = f"test.kill.t{n % 4}"
                    await publisher.send(op="publish", topic=sent[n], type="it.kill", data={"n": n}, ref=n)
                    n += 1
            except ConnectionClosed:
                pass

        async def read_replies():
            try:
                async for raw in publisher.ws:
                    message = json.loads(raw)
                    if message["op"] == "published":
                        accepted[message["ref"]] = message["sequence"]
                        outstanding.release()
                    elif message["op"] == "error":
                        (throttled if message.get("code") == "rate_limited" else refused).append(message)
                        outstanding.release()
            except ConnectionClosed:
                pass

        async def read_durable():
            try:
                async for raw in durable.ws:
                    message = json.loads(raw)
                    if message["op"] == "event":
                        delivered.append(message["event"])
                    elif message.get("ref") == "fence" and not fence.done():
                        fence.set_result(message)
            except ConnectionClosed:
                pass

        tasks = [asyncio.create_task(job()) for job in (send_forever, read_replies, read_durable)]
        started = time.monotonic()

        async def wait_for(condition, timeout, what):
            end = time.monotonic() + timeout
            while not condition():
                assert time.monotonic() < end, f"timed out after {timeout} s waiting for {what}"
                await asyncio.sleep(0.01)

        await wait_for(lambda: len(delivered) >= 50, 10, "50 events on the durable consumer")
        acked = delivered[49]["sequence"]
        await durable.send(op="ack", durable=consumer, sequence=acked)
        # Acks are committed with the next write; a publish after it on the same connection is that write.
        await durable.send(op="publish", topic="test.fence", type="it.fence", ref="fence")
        reply = await asyncio.wait_for(fence, 5)
        assert reply["op"] == "published", f"fence publish refused: {reply}"
        await wait_for(lambda: len(accepted) >= 300 and time.monotonic() - started >= 1.5, 15, "300 accepted events")

        first.kill()
        done, pending = await asyncio.wait(tasks[1:], timeout=10)
        assert not pending, "clients did not notice the hub was killed within 10 s"
        tasks[0].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert not refused, f"publishes refused before the kill: {refused[:3]}"
        return sent, accepted, acked, delivered

    sent, accepted, acked, delivered = run_async(publish_then_kill())
    before = [e["sequence"] for e in delivered]
    assert before == sorted(set(before)), "durable delivery before the kill was not strictly increasing"
    by_ref = sorted(accepted.items())
    assert [s for _, s in by_ref] == sorted(accepted.values()) and len(set(accepted.values())) == len(accepted), (
        "published sequences of one connection are not strictly increasing in publish order")
    assert integrity(first.database) == [("ok",)], "hub.sqlite is damaged after kill -9"

    second = hub_factory.start(state_dir=first.state_dir)
    assert second.admin_token == admin
    logged = fetch_events(second, admin, "test.kill.>")
    sequences = [e["sequence"] for e in logged]
    assert sequences == sorted(set(sequences)), "/api/v1/events did not list sequences strictly increasing"
    by_sequence = {e["sequence"]: e for e in logged}
    lost = [(ref, sequence) for ref, sequence in by_ref if sequence not in by_sequence]
    assert not lost, f"{len(lost)} of {len(accepted)} accepted events are gone after kill -9, e.g. {lost[:5]}"
    for ref, sequence in by_ref:
        event = by_sequence[sequence]
        assert event["subject"] == sent[ref] and event["data"] == {"n": ref}, f"sequence {sequence} holds {event}"

    async def after_restart():
        durable = await open_bus(second, admin)
        resumed = await durable.subscribe("kill", "test.kill.>", durable=consumer)
        assert resumed.get("from") == acked + 1, f"durable cursor after restart at {resumed.get('from')}, acked {acked}"
        expected = [s for s in sequences if s > acked]
        got = await receive_durable(durable, "kill", consumer, len(expected), 20)
        got_sequences = [e["sequence"] for e in got]
        assert got_sequences == expected, (
            f"after restart the durable consumer got {len(got_sequences)} events, expected {len(expected)}; "
            f"missing {sorted(set(expected) - set(got_sequences))[:10]}")
        await durable.send(op="ack", durable=consumer, sequence=got_sequences[-1])

        newest = await durable.publish("test.kill.after", {"n": "after"}, ref="after")
        highest = max(sequences + list(accepted.values()))
        assert newest > highest, f"new event got sequence {newest}, not above {highest} from before the kill"
        await durable.close()

    run_async(after_restart())
    second.stop()
    assert integrity(second.database) == [("ok",)], "hub.sqlite is damaged after the restart"
