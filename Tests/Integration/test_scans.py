"""Scans from the demo cameras and retained device status, as a bus subscriber sees them."""

import time

from conftest import DEMO_DEVICES, fetch_events, manifest_codes, open_bus, run_async, scan_problems


def test_scan_subscriber_receives_code_from_demo_media(hub, manifest):
    codes = manifest_codes(manifest)
    non_ascii = {text for device in codes.values() for symbology, text in device if symbology == "qr" and not text.isascii()}
    assert non_ascii, "the demo manifest has no non-ASCII QR payload to check"

    async def scenario():
        client = await open_bus(hub, hub.staff_token)
        await client.subscribe("scans", "scan.>")
        exact, non_ascii_seen, wrong = [], set(), []
        deadline = time.monotonic() + 20
        while not (exact and non_ascii_seen) and time.monotonic() < deadline:
            message = await client.until(lambda m: m["op"] == "event", deadline - time.monotonic(), "a scan event")
            assert message["sub"] == "scans"
            event = message["event"]
            problems = scan_problems(event, codes)
            if problems:
                wrong.append((event.get("sequence"), problems))
                continue
            data = event["data"]
            if (data["symbology"], data["text"]) in codes[data["device"]]:
                exact.append(data["text"])
            if data["text"] in non_ascii:
                non_ascii_seen.add(data["text"])
        await client.close()
        assert not wrong, f"scan events that do not match the demo media: {wrong[:5]}"
        assert exact, "no scan event with a manifest code (exact text and symbology) within 20 s"
        assert non_ascii_seen, f"none of the non-ASCII QR payloads {sorted(non_ascii)} arrived within 20 s"

    run_async(scenario())


def test_new_status_subscriber_first_receives_last_status_of_each_demo_device(hub):
    # The devices report starting, then online; once both are online their last status stays put.
    deadline = time.monotonic() + 15
    while True:
        latest = {}
        for event in fetch_events(hub, hub.staff_token, "device.status.>"):
            latest[event["subject"]] = event
        online = {topic for topic, event in latest.items() if event["data"]["state"] == "online"}
        if online >= {f"device.status.{device}" for device in DEMO_DEVICES}:
            break
        assert time.monotonic() < deadline, f"demo devices not both online within 15 s: {latest}"
        time.sleep(0.1)

    async def scenario():
        client = await open_bus(hub, hub.staff_token)
        await client.subscribe("status", "device.status.>")
        # The first event of each kiosk's topic (the demo mirror's status comes too; it reports its health on its
        # own schedule, so only the kiosks' last status is fixed).
        got = {}
        wanted = {f"device.status.{device}" for device in DEMO_DEVICES}
        # Until both kiosks' topics have arrived; the mirror's topic may come first and is not one of them.
        while not wanted <= set(got):
            message = await client.until(lambda m: m["op"] == "event", 2, "a retained status event")
            got.setdefault(message["event"]["subject"], message["event"])
        await client.close()
        got = {topic: event for topic, event in got.items() if event["data"]["device"] in DEMO_DEVICES}
        kiosks = {topic: event for topic, event in latest.items() if event["data"]["device"] in DEMO_DEVICES}
        assert set(got) == set(kiosks), f"retained status went to {sorted(got)}, expected {sorted(kiosks)}"
        for topic, event in got.items():
            # A kiosk's health beat may land between the read above and the subscription: then the retained
            # status is that newer one. It is never an older one.
            assert event["sequence"] >= latest[topic]["sequence"], (
                f"{topic}: got sequence {event['sequence']}, an older status than {latest[topic]['sequence']}")
            assert event["type"] == "storehub.device.status"
            assert event["data"]["state"] == "online"
            assert event["data"]["kind"] == "kiosk"

    run_async(scenario())
