"""Signed pickup codes checked by the hub itself: each scan of one carries the verdict, and an order once handed
over (an ok answer on display.<device> to a scan of it) is `alreadyCollected` on its next scan. The codes come in
through a serial scanner on a real pseudo-terminal, as a counter scanner would type them."""

import json
import subprocess

import pytest

from conftest import BINARY, open_bus, run_async
from test_serial_scanner import DEVICE, PtyScanner, wait_device

WAIT = 15.0


def pickup(*args, env=None):
    return subprocess.run([str(BINARY), "pickup", *args], capture_output=True, text=True, check=True,
                          env=env).stdout.strip()


@pytest.fixture
def scanner(tmp_path):
    pty = PtyScanner(tmp_path)
    yield pty
    pty.close()


def start(hub_factory, tmp_path, scanner, keys):
    serial = {"type": "serial", "path": str(scanner.link), "baud": 9600, "framing": "cr", "maxLength": 256}
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / f"{DEVICE}.json").write_text(json.dumps({
        "id": DEVICE, "kind": "scanner", "name": "Pickup counter", "scanner": serial,
        "decoder": {"duplicateWindowSeconds": 0}}))
    config = {"hub": "it-pickup", "listen": {"port": 0}, "devices": "devices"}
    if keys:
        config["pickup"] = {"keys": keys}
    (tmp_path / "hub.json").write_text(json.dumps(config))
    hub = hub_factory.start_config(tmp_path / "hub.json")
    wait_device(hub, lambda d: d["state"] == "online", "online")
    return hub


async def scan(client, scanner, text):
    scanner.write(text.encode() + b"\r")
    event = await client.until(lambda m: m["op"] == "event" and m["event"]["data"]["text"] == text, WAIT,
                               f"the scan of {text[:30]}")
    return event["event"]


def test_each_signed_code_gets_its_verdict_in_the_scan_event(hub_factory, tmp_path, scanner):
    shop = json.loads(pickup("keygen", "--id", "shop-1"))
    stranger = json.loads(pickup("keygen", "--id", "shop-1"))
    hub = start(hub_factory, tmp_path, scanner, [shop["hubConfig"]])
    codes = {
        "valid": pickup("sign", "--order", "ORD-1001", "--key-id", "shop-1", f"--private-key={shop['privateKey']}"),
        "expired": pickup("sign", "--order", "ORD-1002", "--key-id", "shop-1", f"--private-key={shop['privateKey']}",
                          "--expires-in=-60"),
        "forged": pickup("sign", "--order", "ORD-1001", "--key-id", "shop-1",
                         f"--private-key={stranger['privateKey']}"),
        "unknownKey": pickup("sign", "--order", "ORD-1001", "--key-id", "old-key",
                             f"--private-key={shop['privateKey']}"),
    }
    codes["malformed"] = codes["valid"][:-10]

    async def scenario():
        client = await open_bus(hub, hub.admin_token)
        await client.subscribe("scans", f"scan.{DEVICE}")
        verdicts = {name: (await scan(client, scanner, code))["data"]["pickup"] for name, code in codes.items()}
        plain = await scan(client, scanner, "PICKUP:ORD-1001")
        return verdicts, plain

    verdicts, plain = run_async(scenario())
    valid = verdicts.pop("valid")
    assert valid["valid"] is True and valid["orderId"] == "ORD-1001" and valid["keyId"] == "shop-1"
    assert "reason" not in valid and valid["expires"].endswith("Z")
    for reason, verdict in verdicts.items():
        assert verdict["valid"] is False and verdict["reason"] == reason, (reason, verdict)
    assert verdicts["expired"]["orderId"] == "ORD-1002"
    assert "orderId" not in verdicts["forged"], "a forged code's order id must not be trusted"
    assert "pickup" not in plain["data"], "a code that is not a signed one gets no verdict"


def test_an_order_answered_ok_is_already_collected_on_its_next_scan_even_after_a_restart(
        hub_factory, tmp_path, scanner):
    shop = json.loads(pickup("keygen", "--id", "shop-1"))
    hub = start(hub_factory, tmp_path, scanner, [shop["hubConfig"]])
    service = subprocess.run([str(BINARY), "token", "create", "--role", "service", "--state", str(hub.state_dir)],
                             capture_output=True, text=True, check=True).stdout.strip()
    sign = ["sign", "--key-id", "shop-1", f"--private-key={shop['privateKey']}"]
    first_code = pickup(*sign, "--order", "ORD-2001")
    second_code = pickup(*sign, "--order", "ORD-2001")  # the same order, a fresh nonce
    refused_code = pickup(*sign, "--order", "ORD-2002")

    async def scenario():
        client = await open_bus(hub, hub.admin_token)
        await client.subscribe("scans", f"scan.{DEVICE}")
        answers = await open_bus(hub, service)
        first = await scan(client, scanner, first_code)
        assert first["data"]["pickup"]["valid"] is True
        refused = await scan(client, scanner, refused_code)
        # A refusal hands nothing over; an ok answer does.
        await answers.publish(f"display.{DEVICE}", {"state": "error", "title": "No", "answers": refused["sequence"]},
                              ref="no")
        await answers.publish(f"display.{DEVICE}", {"state": "ok", "title": "Here", "answers": first["sequence"]},
                              ref="ok")
        again = await scan(client, scanner, second_code)
        other = await scan(client, scanner, refused_code)
        return again["data"]["pickup"], other["data"]["pickup"]

    again, other = run_async(scenario())
    assert again == {**again, "valid": False, "reason": "alreadyCollected", "orderId": "ORD-2001"}
    assert other["valid"] is True

    hub.stop()
    restarted = hub_factory.start_config(tmp_path / "hub.json", state_dir=hub.state_dir)
    wait_device(restarted, lambda d: d["state"] == "online", "online")

    async def after_restart():
        client = await open_bus(restarted, restarted.admin_token)
        await client.subscribe("scans", f"scan.{DEVICE}")
        return (await scan(client, scanner, first_code))["data"]["pickup"]

    assert run_async(after_restart())["reason"] == "alreadyCollected"


def test_a_hub_without_pickup_keys_checks_no_codes(hub_factory, tmp_path, scanner):
    shop = json.loads(pickup("keygen", "--id", "shop-1"))
    hub = start(hub_factory, tmp_path, scanner, None)
    code = pickup("sign", "--order", "ORD-1", "--key-id", "shop-1", f"--private-key={shop['privateKey']}")

    async def scenario():
        client = await open_bus(hub, hub.admin_token)
        await client.subscribe("scans", f"scan.{DEVICE}")
        return await scan(client, scanner, code)

    assert "pickup" not in run_async(scenario())["data"]


def test_pickup_keys_in_the_config_are_checked_at_start(hub_factory, tmp_path, scanner):
    (tmp_path / "devices").mkdir()
    config = tmp_path / "hub.json"
    config.write_text(json.dumps({"hub": "it", "listen": {"port": 0}, "devices": "devices",
                                  "pickup": {"keys": [{"id": "shop-1", "publicKey": "c2hvcnQ"}]}}))
    code, _, err, ready = hub_factory.run_to_exit(["run", "--config", str(config), "--state", str(tmp_path / "s")])
    assert not ready and code != 0
    assert "pickup" in err and "publicKey" in err, err
