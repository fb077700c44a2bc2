"""Answers for screens on `display.<device>`: checked at publish with an error naming the field, and only
services (and admins) may send them."""

import subprocess

from conftest import BINARY, open_bus, run_async


def make_token(hub, role, device=None):
    args = [str(BINARY), "token", "create", "--role", role, "--state", str(hub.state_dir)]
    if device:
        args += ["--device", device]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()


ANSWER = {"state": "ok", "title": {"en": "Your order is ready", "fr": "Votre commande est prête"},
          "body": "Counter 2", "items": ["Lipstick 03"], "ttlSeconds": 10, "answers": 1}


def test_a_service_answers_on_display_and_a_screen_reader_gets_it(shared_hub):
    service = make_token(shared_hub, "service")

    async def scenario():
        staff = await open_bus(shared_hub, shared_hub.staff_token)
        await staff.subscribe("screen", "display.kiosk-pickup")
        client = await open_bus(shared_hub, service)
        sequence = await client.publish("display.kiosk-pickup", ANSWER, ref="answer", event_type="shop.display")
        event = await staff.until(lambda m: m["op"] == "event", 10, "the answer on display.kiosk-pickup")
        assert event["event"]["sequence"] == sequence
        assert event["event"]["data"] == ANSWER

    run_async(scenario())


def test_a_malformed_display_message_is_refused_naming_the_field(shared_hub):
    service = make_token(shared_hub, "service")
    cases = {
        "data.state": {**ANSWER, "state": "great"},
        "data.title.fr": {**ANSWER, "title": {"en": "ok", "fr": "a\u0007b"}},
        "data.items[0]": {**ANSWER, "items": [""]},
        "data.ttlSeconds": {**ANSWER, "ttlSeconds": 100000},
        "data.answers": {**ANSWER, "answers": "seven"},
        "data.colour": {**ANSWER, "colour": "red"},
        "data.body": {**ANSWER, "body": "x" * 5000},
        "data:": "just text",
    }

    async def scenario():
        client = await open_bus(shared_hub, service)
        for field, data in cases.items():
            await client.send(op="publish", topic="display.kiosk-pickup", type="shop.display", data=data, ref=field)
            error = await client.reply("error", field)
            assert error["code"] == "bad_request", error
            assert error["message"].startswith(f"publish: {field}"), error
        # Still serving after the refusals.
        assert await client.publish("display.kiosk-pickup", ANSWER, ref="fine") > 0

    run_async(scenario())


def test_a_service_token_publishes_on_display_and_nothing_else(shared_hub):
    service = make_token(shared_hub, "service")
    device = make_token(shared_hub, "device", "kiosk-pickup")

    async def scenario():
        client = await open_bus(shared_hub, service)
        for topic in ("scan.kiosk-pickup", "device.status.kiosk-pickup", "mirror.command.mirror-beauty",
                      "tryon.result.mirror-beauty"):
            await client.send(op="publish", topic=topic, type="it", data={}, ref=topic)
            error = await client.reply("error", topic)
            assert error["code"] == "forbidden", error
        # A device token speaks for its own device, but never answers on its screen.
        own = await open_bus(shared_hub, device)
        await own.send(op="publish", topic="display.kiosk-pickup", type="it", data=ANSWER, ref="forged")
        assert (await own.reply("error", "forged"))["code"] == "forbidden"

    run_async(scenario())
