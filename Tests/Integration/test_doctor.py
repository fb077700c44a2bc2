"""`storehub doctor`: each problem a shop's IT meets first, named with its fix."""

import json
import socket
import subprocess

from conftest import BINARY, REPO


def doctor(*args):
    return subprocess.run([str(BINARY), "doctor", *args], capture_output=True, text=True, timeout=30, cwd=REPO)


def write_config(tmp_path, port, devices):
    (tmp_path / "devices").mkdir()
    for descriptor in devices:
        (tmp_path / "devices" / f"{descriptor['id']}.json").write_text(json.dumps(descriptor))
    config = tmp_path / "hub.json"
    config.write_text(json.dumps({"hub": "t", "listen": {"host": "127.0.0.1", "port": port}, "devices": "devices"}))
    return config


def test_missing_devices_busy_port_and_no_tokens_are_problems_with_fixes(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    config = write_config(tmp_path, port, [
        {"id": "kiosk-x", "kind": "kiosk", "camera": {"type": "v4l2", "path": "/dev/storehub-test-no-camera"}},
        {"id": "scanner-x", "kind": "scanner", "scanner": {"type": "serial", "path": "/dev/storehub-test-no-tty"}},
    ])
    state = tmp_path / "state"
    state.mkdir()
    result = doctor("--config", str(config), "--state", str(state))
    busy.close()
    assert result.returncode == 1, result.stdout
    out = result.stdout
    assert "PROBLEM  kiosk-x: /dev/storehub-test-no-camera does not exist" in out
    assert "PROBLEM  scanner-x: /dev/storehub-test-no-tty does not exist" in out
    assert "storehub devices lists what is there" in out
    assert f"PROBLEM  port 127.0.0.1:{port} cannot be used" in out and "another program" in out
    assert "PROBLEM  no access tokens" in out and "storehub token create --role admin" in out


def test_a_config_error_names_file_and_key(tmp_path):
    config = tmp_path / "hub.json"
    config.write_text('{"hub": "t", "listen": {"port": "eighty"}}')
    result = doctor("--config", str(config))
    assert result.returncode == 1
    assert "PROBLEM  config:" in result.stdout and "listen.port" in result.stdout


def test_the_demo_store_with_a_token_is_healthy(tmp_path):
    state = tmp_path / "state"
    subprocess.run([str(BINARY), "token", "create", "--role", "admin", "--state", str(state)],
                   check=True, capture_output=True, cwd=REPO)
    config = tmp_path / "hub.json"
    demo = json.loads((REPO / "Devices/demo/hub.json").read_text())
    demo["devices"] = str(REPO / "Devices/demo/devices")
    demo["models"] = str(REPO / ".cache/models")
    demo["listen"]["port"] = 0
    config.write_text(json.dumps(demo))
    result = doctor("--config", str(config), "--state", str(state))
    assert result.returncode == 0, result.stdout
    assert "PROBLEM" not in result.stdout
    assert "ok       1 access tokens" in result.stdout
    assert "ok       kiosk-pickup: replay folder" in result.stdout
    assert "face models in" in result.stdout


def test_a_mirror_without_face_models_is_a_problem_with_the_fetch_command(tmp_path):
    portrait = REPO / ".cache" / "faces" / "grace_hopper.jpg"
    config = write_config(tmp_path, 0, [
        {"id": "mirror-x", "kind": "mirror", "camera": {"type": "replay", "path": str(portrait), "fps": 5}}])
    settings = json.loads(config.read_text())
    settings["shades"] = str(REPO / "Assets" / "shades.json")
    settings["models"] = str(tmp_path / "models")
    config.write_text(json.dumps(settings))
    result = doctor("--config", str(config), "--state", str(tmp_path / "state"))
    assert result.returncode == 1, result.stdout
    assert "PROBLEM  face models: face model face_detection_short_range.tflite is not in" in result.stdout
    assert f"fix: scripts/fetch-assets --cache {tmp_path}" in result.stdout

    settings["models"] = str(REPO / ".cache" / "models")
    config.write_text(json.dumps(settings))
    result = doctor("--config", str(config), "--state", str(tmp_path / "state"))
    assert f"ok       face models in {REPO / '.cache' / 'models'} load" in result.stdout, result.stdout
