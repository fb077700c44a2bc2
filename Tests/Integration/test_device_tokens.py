"""Device tokens: a device outside the hub (an external face tracker, a kiosk screen's app) publishes only on its
own device's topics and reads only the commands sent to it."""

import subprocess

from conftest import BINARY, http_get, open_bus, run_async


def device_token(hub, device):
    return subprocess.run([str(BINARY), "token", "create", "--role", "device", "--device", device,
                           "--state", str(hub.state_dir)], capture_output=True, text=True, check=True).stdout.strip()


def test_device_token_publishes_its_own_topics_and_reads_its_own_commands(shared_hub):
    token = device_token(shared_hub, "mirror-1")

    async def scenario():
        tracker = await open_bus(shared_hub, token)
        lips = {"width": 1280, "height": 720, "outer": [[600, 400], [680, 400], [640, 430]]}
        sequence = await tracker.publish("mirror.landmarks.mirror-1", lips, ref="own")
        assert sequence > 0
        await tracker.send(op="publish", topic="mirror.landmarks.mirror-2", type="it", data={}, ref="other")
        refused = await tracker.reply("error", "other")
        assert refused["code"] == "forbidden" and "device token for mirror-1" in refused["message"]
        await tracker.send(op="publish", topic="mirror.command.mirror-1", type="it", data={}, ref="self-command")
        assert (await tracker.reply("error", "self-command"))["code"] == "forbidden"
        await tracker.subscribe("commands", "mirror.command.mirror-1")
        await tracker.send(op="subscribe", id="all", topic="scan.>")
        error = await tracker.until(lambda m: m["op"] == "error", 5, "the refusal of scan.>")
        assert error["code"] == "forbidden"
        staff = await open_bus(shared_hub, shared_hub.staff_token)
        await staff.publish("mirror.command.mirror-1", {"select": "SKU-1"}, ref="cmd")
        event = await tracker.until(lambda m: m["op"] == "event", 5, "the command on the device's subscription")
        assert event["event"]["subject"] == "mirror.command.mirror-1"
        await tracker.close()
        await staff.close()

    run_async(scenario())
    status, body = http_get(shared_hub.url + "api/v1/devices", token)
    assert status == 403, f"a device token read the device list: {status} {body}"


def test_device_token_needs_a_device(tmp_path):
    result = subprocess.run([str(BINARY), "token", "create", "--role", "device", "--state", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 64 and "--device" in result.stderr
