"""Starting and stopping: bad configs and unsafe binds refuse to start, SIGTERM stops cleanly."""

import base64
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import REPO, STOP_TIMEOUT, open_bus, run_async

EX_CONFIG = 78


def unused_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port):
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def write_json(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))
    return path


def hub_config(port, **overrides):
    config = {"hub": "it-store", "listen": {"host": "127.0.0.1", "port": port}, "devices": "devices"}
    config.update(overrides)
    return config


def kiosk_descriptor():
    """The demo pickup kiosk; its media path is made absolute because the copy lives outside the repo."""
    descriptor = json.loads((REPO / "Devices" / "demo" / "devices" / "kiosk-pickup.json").read_text())
    descriptor["camera"]["path"] = str(REPO / "Assets" / "demo" / "media" / "kiosk-pickup")
    return descriptor


# case -> (section of the device descriptor, key, bad value, key path in the message, what the message says)
DEVICE_MISTAKES = {
    "device-fps-is-a-string": ("camera", "fps", "8", "camera.fps", "expected"),
    "unknown-device-key": ("decoder", "duplicateWindowSecs", 1, "decoder.duplicateWindowSecs", "unknown key"),
    "bad-class-pattern": ("decoder", "classes", [{"name": "pickup", "pattern": "^PU-[0-9"}],
                          "decoder.classes[0].pattern", "not a valid regular expression"),
    "unknown-class-symbology": ("decoder", "classes", [{"name": "p", "symbologies": ["qr", "maxicode"]}],
                                "decoder.classes[0].symbologies[1]", "unknown symbology 'maxicode'"),
    "unknown-strategy": ("decoder", "strategies", ["inverted", "sharpen"], "decoder.strategies[1]",
                         "unknown decode strategy 'sharpen'"),
    "cpu-share-out-of-range": ("decoder", "maxCpuShare", 2, "decoder.maxCpuShare", "share of one core"),
    "answer-timeout-out-of-range": ("screen", "answerTimeoutSeconds", 45, "screen.answerTimeoutSeconds",
                                    "expected 0.5 to 30 seconds"),
}


@pytest.mark.parametrize("case", ["port-is-a-string", *DEVICE_MISTAKES])
def test_config_error_names_file_and_key_and_hub_does_not_start(hub_factory, tmp_path, case):
    port = unused_port()
    if case == "port-is-a-string":
        bad_file = write_json(tmp_path / "hub.json", hub_config(str(port)))
        (tmp_path / "devices").mkdir()
        key, problem = "listen.port", "expected"
    else:
        section, name, value, key, problem = DEVICE_MISTAKES[case]
        descriptor = kiosk_descriptor()
        descriptor[section][name] = value
        bad_file = write_json(tmp_path / "devices" / "kiosk-pickup.json", descriptor)
        write_json(tmp_path / "hub.json", hub_config(port))
    config = tmp_path / "hub.json"

    code, stdout, stderr, ready = hub_factory.run_to_exit(
        ["run", "--config", str(config), "--state", str(tmp_path / "state")], name=case)
    assert not ready and "Status page:" not in stdout, f"the hub started despite the bad config:\n{stdout}"
    assert code == EX_CONFIG, f"exit code {code}, expected {EX_CONFIG}; stderr:\n{stderr}"
    assert str(bad_file) in stderr, f"stderr does not name {bad_file}:\n{stderr}"
    assert key in stderr, f"stderr does not name the key {key}:\n{stderr}"
    assert problem in stderr, f"stderr does not say {problem!r}:\n{stderr}"
    assert not listening(port), f"something listens on {port} after the refused start"


def test_non_loopback_bind_without_tokens_refuses_to_start(hub_factory, tmp_path):
    code, stdout, stderr, ready = hub_factory.run_to_exit(
        ["run", "--host", "0.0.0.0", "--port", "0", "--state", str(tmp_path / "fresh-state")], name="public")
    assert not ready, "the hub listened on 0.0.0.0 with no tokens (stopped by the test)"
    assert code != 0, "the hub exited 0 instead of refusing"
    assert "token" in stderr.lower(), f"the refusal does not mention tokens:\n{stderr}"
    assert "Admin token" not in stdout, "a token was minted although the hub refused to start"


def test_port_in_use_is_a_clear_error_not_a_crash(hub_factory, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, stderr, ready = hub_factory.run_to_exit(
            ["run", "--port", str(port), "--state", str(tmp_path / "state")], name="busy-port")
    assert not ready, "the hub claimed to listen on a port that was taken"
    assert code == 69, f"expected exit code 69 (unavailable), got {code}:\n{stderr}"
    assert f"127.0.0.1:{port}" in stderr and "in use" in stderr, f"the error does not say what is wrong:\n{stderr}"


def test_sigterm_stops_cleanly(hub):
    async def scenario():
        client = await open_bus(hub, hub.staff_token)
        await client.subscribe("scans", "scan.>")
        await client.until(lambda m: m["op"] == "event", 10, "a scan event before the stop")
        hub.stopped = True
        hub.process.terminate()
        await client.closed(15, "the close when the hub stops")
        assert client.close_code in (1000, 1001), (
            f"connection ended with close code {client.close_code} (None = no close frame), expected 1001")

    run_async(scenario())
    code = hub.process.wait(15)
    assert code == 0, f"storehub exited with {code} after SIGTERM, expected 0"


def test_sigterm_stops_even_when_a_client_never_answers_the_close(hub):
    # A client on a dead network path or a frozen process never sends its half of the close handshake;
    # the hub must still stop instead of waiting for it.
    host, port = "127.0.0.1", hub.port
    with socket.create_connection((host, port), timeout=5) as stuck:
        key = base64.b64encode(os.urandom(16)).decode()
        stuck.sendall(
            f"GET /api/v1/bus HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
            f"Authorization: Bearer {hub.staff_token}\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = stuck.recv(4096)
            assert chunk, f"connection closed during the upgrade: {answer!r}"
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 101"), f"upgrade refused: {answer[:80]!r}"
        hub.stopped = True
        started = time.monotonic()
        hub.process.terminate()
        try:
            code = hub.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"storehub still running {STOP_TIMEOUT:.0f} s after SIGTERM while one client ignores the close") from None
    assert code == 0, f"storehub exited with {code} after SIGTERM, expected 0 (after {time.monotonic() - started:.1f} s)"
