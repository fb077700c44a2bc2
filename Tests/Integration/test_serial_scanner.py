"""Serial scanners through a real pseudo-terminal pair: the hub opens the slave side (through a symlink, as it
would a /dev/serial/by-id path) with termios, the test writes what a scanner sends into the master side.

Bad input (noise, partial frames, over-long lines) must give a clear log line and a counter in the device's
status, and never cost the scan that follows. Each bad input is followed by waiting for the hub to count it
(REST), so no step depends on timing."""

import base64
import json
import os
import time

from conftest import open_bus, run_async

DEVICE = "scanner-till"
WAIT = 15.0


class PtyScanner:
    """The scanner's side of a pseudo-terminal; the hub's descriptor points at `link`."""

    def __init__(self, folder):
        self.link = folder / "serial-by-id-storehub-test-scanner"
        self.master = None
        self.plug()

    def plug(self):
        """A new pseudo-terminal behind the same symlink (replaced atomically, as udev would)."""
        self.master, slave = os.openpty()
        name = os.ttyname(slave)
        os.close(slave)  # the node stays while the master is open
        temporary = self.link.with_suffix(".new")
        os.symlink(name, temporary)
        os.replace(temporary, self.link)

    def write(self, data):
        os.write(self.master, data)

    def unplug(self):
        os.close(self.master)
        self.master = None

    def close(self):
        if self.master is not None:
            self.unplug()


def start(hub_factory, tmp_path, scanner, decoder=None, **settings):
    serial = {"type": "serial", "path": str(scanner.link), "baud": 9600, "parity": "none", "dataBits": 8,
              "stopBits": 1, "flowControl": "none", "framing": "cr", "maxLength": 32, "frameTimeoutMs": 300}
    serial.update(settings)
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / f"{DEVICE}.json").write_text(json.dumps({
        "id": DEVICE, "kind": "scanner", "name": "Till handheld", "scanner": serial,
        "decoder": {"duplicateWindowSeconds": 0, **(decoder or {})}}))
    config = tmp_path / "hub.json"
    config.write_text(json.dumps({"hub": "it-scanners", "listen": {"port": 0}, "devices": "devices"}))
    hub = hub_factory.start_config(config)
    wait_device(hub, lambda d: d["state"] == "online", "online")
    return hub


def device(hub):
    status, body = hub.get("api/v1/devices", hub.admin_token)
    assert status == 200, body
    return next(d for d in body["devices"] if d["id"] == DEVICE)


def wait_device(hub, predicate, what):
    deadline = time.monotonic() + WAIT
    while True:
        current = device(hub)
        if predicate(current):
            return current
        assert time.monotonic() < deadline, f"device never became {what}: {current}"
        time.sleep(0.05)


async def watch(hub):
    """A bus client subscribed to the scanner's status and scans."""
    client = await open_bus(hub, hub.admin_token)
    await client.subscribe("status", f"device.status.{DEVICE}")
    await client.subscribe("scans", f"scan.{DEVICE}")
    return client


async def next_state(client, state, what):
    """The scanner's next status event with `state`, as the bus delivered it."""
    message = await client.until(
        lambda m: m["op"] == "event" and m["event"]["type"] == "storehub.device.status"
        and m["event"]["data"]["state"] == state, WAIT, what)
    return message["event"]["data"]


async def next_scan(client, what):
    message = await client.until(lambda m: m["op"] == "event" and m["event"]["type"] == "storehub.scan", WAIT, what)
    return message["event"]["data"]


def assert_scan(data, text, symbology="unknown", gtin=None):
    assert data["text"] == text, f"expected {text!r}, got {data}"
    assert base64.b64decode(data["bytes"]) == text.encode(), data
    assert data["symbology"] == symbology, data
    assert data.get("gtin") == gtin, data
    assert data["device"] == DEVICE and data["polygon"] == [] and data["frameTime"], data


def test_scans_written_to_the_serial_port_arrive_exactly_on_the_bus(hub_factory, tmp_path):
    scanner = PtyScanner(tmp_path)
    try:
        hub = start(hub_factory, tmp_path, scanner)

        async def scenario():
            client = await open_bus(hub, hub.admin_token)
            await client.subscribe("scans", f"scan.{DEVICE}")
            codes = ["4006381333931", "PICKUP:ORDER-1234", "Grüße/ÄÖ 42", "A" * 32]
            for code in codes:
                scanner.write(code.encode() + b"\r")
            for code in codes:
                assert_scan(await next_scan(client, code), code)

        run_async(scenario())
        # The counters are the device's health, updated after the scan is handed to the log: read them once all
        # four are counted (or the deadline passes), then compare exactly.
        deadline = time.monotonic() + 10
        current = device(hub)
        while current["framesProcessed"] < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
            current = device(hub)
        assert current["kind"] == "scanner" and current["framesProcessed"] == 4, current
        assert current["scansDropped"] == 0 and current["errors"] == 0, current
    finally:
        scanner.close()


def test_noise_partial_frames_and_over_long_lines_are_counted_and_never_cost_the_next_scan(hub_factory, tmp_path):
    scanner = PtyScanner(tmp_path)
    try:
        hub = start(hub_factory, tmp_path, scanner)
        secret = "LOYALTY-CARD-0042-SECRET-OVERLONG-PAYLOAD"
        bad_inputs = [
            # (bytes, counter, words the problem must contain)
            (b"\x00\xff\xfe\x81\x13\r", "errors", "non-printable byte 0x00 at offset 0"),
            (b"\xf0\x9f\x98", "errors", "invalid UTF-8"),  # noise without a line end, then silence
            (b"12345", "scansDropped", "partial frame: 5 bytes"),
            (secret.encode() + b"\r", "scansDropped", "over-long frame: more than 32 bytes"),
            (b"AB\x07CD\r", "errors", "non-printable byte 0x07 at offset 2"),
        ]

        async def scenario():
            client = await open_bus(hub, hub.admin_token)
            await client.subscribe("scans", f"scan.{DEVICE}")
            for index, (data, counter, words) in enumerate(bad_inputs):
                before = device(hub)[counter]
                scanner.write(data)
                current = wait_device(hub, lambda d: d[counter] == before + 1, f"{counter} = {before + 1}")
                assert words in current["lastProblem"], current["lastProblem"]
                good = f"GOOD-{index}"
                scanner.write(good.encode() + b"\r")
                assert_scan(await next_scan(client, good), good)

        run_async(scenario())
        # A scan is counted once its commit returns, which can be after the bus delivered it: wait for the last
        # good scan's count, then compare exactly.
        current = wait_device(
            hub, lambda d: d["framesProcessed"] >= len(bad_inputs), f"framesProcessed >= {len(bad_inputs)}")
        assert current["errors"] == 3 and current["scansDropped"] == 2, current
        assert current["framesProcessed"] == len(bad_inputs), current
        log = hub.stderr_text()
        for _, _, words in bad_inputs:
            assert "input dropped: " in log and words in log, f"no log line with {words!r}:\n{log[-3000:]}"
        assert secret not in log and "LOYALTY" not in log, "dropped input must not be logged"
    finally:
        scanner.close()


def test_stx_etx_framing_with_prefix_suffix_and_aim_identifiers(hub_factory, tmp_path):
    scanner = PtyScanner(tmp_path)
    try:
        hub = start(hub_factory, tmp_path, scanner, framing="stx-etx", prefix="S1:", suffix="#",
                    aimIdentifiers=True, maxLength=64)

        async def scenario():
            client = await open_bus(hub, hub.admin_token)
            await client.subscribe("scans", f"scan.{DEVICE}")
            scanner.write(b"\x02S1:]E04006381333931#\x03")
            assert_scan(await next_scan(client, "EAN-13"), "4006381333931", "ean13", "4006381333931")
            scanner.write(b"\x02]E496385074\x03\r\n")
            assert_scan(await next_scan(client, "EAN-8"), "96385074", "ean8", "0000096385074")
            scanner.write(b"\x02S1:]Q1PICKUP:77#\x03")
            assert_scan(await next_scan(client, "QR"), "PICKUP:77", "qr")
            scanner.write(b"\x02]C1(01)09506000134352#\x03")
            assert_scan(await next_scan(client, "GS1-128"), "(01)09506000134352", "gs1-128")
            # Noise between frames is counted; a frame cut off by a new STX is dropped; the next one arrives.
            before = device(hub)
            scanner.write(b"zz\x02]E0400638\x02]Q1AFTER\x03")
            assert_scan(await next_scan(client, "the frame after the cut one"), "AFTER", "qr")
            current = wait_device(
                hub, lambda d: d["errors"] == before["errors"] + 1 and d["scansDropped"] == before["scansDropped"] + 1,
                "one error and one dropped scan more")
            assert "partial frame" in current["lastProblem"] or "stray bytes" in current["lastProblem"], current
            # A scan without the identifier the descriptor promises is refused, not guessed.
            scanner.write(b"\x02S1:4006381333931#\x03")
            current = wait_device(hub, lambda d: d["errors"] == before["errors"] + 2, "an error for a missing AIM id")
            assert "without an AIM symbology identifier" in current["lastProblem"], current

        run_async(scenario())
    finally:
        scanner.close()


def test_scanner_scans_get_payload_classes_and_gs1_elements_like_camera_scans(hub_factory, tmp_path):
    scanner = PtyScanner(tmp_path)
    try:
        hub = start(hub_factory, tmp_path, scanner, aimIdentifiers=True, maxLength=64, decoder={"classes": [
            {"name": "pickup-order", "pattern": "^PICKUP:"},
            {"name": "product", "symbologies": ["ean13", "upca"]}]})

        async def scenario():
            client = await open_bus(hub, hub.admin_token)
            await client.subscribe("scans", f"scan.{DEVICE}")
            scanner.write(b"]Q1PICKUP:ORD-77\r")
            data = await next_scan(client, "a pickup QR")
            assert data["class"] == "pickup-order" and "gs1" not in data, data
            scanner.write(b"]E04006381333931\r")
            data = await next_scan(client, "an EAN-13")
            assert data["class"] == "product", data
            # GS1-128: GTIN, expiry, then the variable-length batch ended by the element string's end.
            scanner.write(b"]C1010950600013435217261231\x1d10LOT42\r")
            data = await next_scan(client, "a GS1-128 label")
            assert data["symbology"] == "gs1-128" and "class" not in data, data
            assert data["gs1"] == [{"ai": "01", "value": "09506000134352"}, {"ai": "17", "value": "261231"},
                                   {"ai": "10", "value": "LOT42"}], data
            scanner.write(b"]C101123\r")
            data = await next_scan(client, "a GS1-128 label with a broken GTIN")
            assert "gs1" not in data and "01" in data["gs1Error"], data

        run_async(scenario())
    finally:
        scanner.close()


def test_hang_up_gives_offline_and_a_new_port_behind_the_same_path_resumes_scans(hub_factory, tmp_path):
    scanner = PtyScanner(tmp_path)
    try:
        hub = start(hub_factory, tmp_path, scanner)

        async def scenario():
            client = await watch(hub)
            scanner.write(b"BEFORE\r")
            assert_scan(await next_scan(client, "BEFORE"), "BEFORE")
            scanner.unplug()
            offline = await next_state(client, "offline", "an offline status")
            assert "hung up" in offline["reason"], offline
            status, health = hub.get("healthz")
            assert status == 200 and health["status"] == "ok", health

            scanner.plug()
            online = await next_state(client, "online", "online again")
            assert online["restarts"] >= 1, online
            scanner.write(b"AFTER\r")
            assert_scan(await next_scan(client, "AFTER"), "AFTER")

        run_async(scenario())
        hub.stop()  # exit code 0 after SIGTERM: the hang-up did not crash or wedge the hub
    finally:
        scanner.close()


def test_a_bad_scanner_descriptor_stops_the_hub_with_the_key_path(hub_factory, tmp_path):
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "scanner-bad.json").write_text(json.dumps({
        "id": "scanner-bad", "kind": "scanner",
        "scanner": {"type": "serial", "path": "/dev/ttyUSB0", "parity": "mark"}}))
    config = tmp_path / "hub.json"
    config.write_text(json.dumps({"hub": "it-scanners", "listen": {"port": 0}, "devices": "devices"}))
    code, _, stderr, ready = hub_factory.run_to_exit(["run", "--config", str(config), "--state", str(tmp_path / "s")])
    assert code == 78 and not ready, (code, stderr)
    assert "scanner-bad.json: at scanner.parity: expected one of \"none\", \"even\", \"odd\", found \"mark\"" in stderr


def test_staff_restart_reopens_an_idle_scanner_at_once(hub_factory, tmp_path):
    """A restart asked for on the status page (REST) closes and reopens a scanner that is sending nothing: the
    read loop is woken, not left waiting for the next scan."""
    scanner = PtyScanner(tmp_path)
    try:
        hub = start(hub_factory, tmp_path, scanner)

        async def scenario():
            client = await watch(hub)
            before = device(hub)["restarts"]
            status, body = hub.post(f"api/v1/devices/{DEVICE}/restart", hub.admin_token)
            assert status in (200, 202), (status, body)
            offline = await next_state(client, "offline", "offline for the restart, with no input sent")
            assert "restarting at staff's request" in offline["reason"], offline
            online = await next_state(client, "online", "online again after the restart")
            assert online["restarts"] == before + 1, online
            scanner.write(b"AFTER-RESTART\r")
            assert_scan(await next_scan(client, "AFTER-RESTART"), "AFTER-RESTART")

        run_async(scenario())
        hub.stop()
    finally:
        scanner.close()
