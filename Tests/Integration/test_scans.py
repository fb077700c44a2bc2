"""Scans from the demo cameras and retained device status, as a bus subscriber sees them."""

import base64
import time

from conftest import DEMO_DEVICES, fetch_events, open_bus, run_async


def manifest_codes(manifest):
    """{device: {(symbology, text), ...}} of every code printed in the demo media."""
    return {
        device: {(code["symbology"], code["text"]) for frame in entry["frames"] for code in frame["codes"]}
        for device, entry in manifest["devices"].items()
    }


def scan_problems(event, codes):
    """What is wrong with one scan event compared to the demo media; empty when nothing is."""
    problems = []
    data = event.get("data") or {}
    device = data.get("device")
    if event.get("type") != "storehub.scan":
        problems.append(f"type {event.get('type')!r}")
    if event.get("subject") != f"scan.{device}":
        problems.append(f"subject {event.get('subject')!r} for device {device!r}")
    if event.get("specversion") != "1.0" or not str(event.get("source", "")).endswith(f"/{device}"):
        problems.append(f"envelope specversion={event.get('specversion')!r} source={event.get('source')!r}")
    if device not in codes:
        return problems + [f"unknown device {device!r}"]
    symbology, text = data.get("symbology"), data.get("text")
    try:
        raw = base64.b64decode(data.get("bytes", ""), validate=True)
    except ValueError:
        raw = None
    if raw != str(text).encode("utf-8"):
        problems.append(f"bytes {raw!r} are not the UTF-8 of text {text!r}")
    if (symbology, text) in codes[device]:
        if symbology in ("ean13", "ean8", "upca", "upce") and data.get("gtin") != text.zfill(13):
            problems.append(f"gtin {data.get('gtin')!r} for {symbology} {text!r}")
    elif symbology == "upca" and ("ean13", "0" + str(text)) in codes[device]:
        # An EAN-13 starting with 0 is the same bars as a UPC-A; zbar reads it as one and the
        # protocol reports symbologies as read, with the GTIN-13 alongside.
        if data.get("gtin") != "0" + text:
            problems.append(f"gtin {data.get('gtin')!r} for upca {text!r}")
    else:
        problems.append(f"{symbology} {text!r} is not a code of {device} in the manifest")
    # The demo descriptors' decoder.classes: pickup codes and retail codes are classified, the rest not.
    if str(text).startswith("PICKUP:ORD-"):
        expected_class = "pickup-order"
    elif symbology in ("ean13", "ean8", "upca", "upce"):
        expected_class = "product"
    else:
        expected_class = None
    if data.get("class") != expected_class:
        problems.append(f"class {data.get('class')!r} for {symbology} {text!r}, expected {expected_class!r}")
    if data.get("strategy") not in ("plain", "inverted", "stretched", "sharpened", "upscaled", "rotated",
                                  "binarized", "rectified"):
        problems.append(f"strategy {data.get('strategy')!r}")
    return problems


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
        first = [await client.until(lambda m: m["op"] == "event", 2, "a retained status event") for _ in DEMO_DEVICES]
        await client.close()
        got = {message["event"]["subject"]: message["event"] for message in first}
        assert set(got) == set(latest), f"retained status went to {sorted(got)}, expected {sorted(latest)}"
        for topic, event in got.items():
            assert event["sequence"] == latest[topic]["sequence"], (
                f"{topic}: got sequence {event['sequence']}, the last status is {latest[topic]['sequence']}")
            assert event["type"] == "storehub.device.status"
            assert event["data"]["state"] == "online"
            assert event["data"]["kind"] == "kiosk"

    run_async(scenario())
