"""`storehub tail`, the bus client for IT: it follows a running hub and prints its events as JSON lines."""

import json
import os
import subprocess

from conftest import BINARY, DEMO_DEVICES, manifest_codes, scan_problems


def run_tail(hub, token, *args, timeout=30):
    env = {**os.environ, "STOREHUB_TOKEN": token} if token is not None else {
        k: v for k, v in os.environ.items() if k != "STOREHUB_TOKEN"}
    return subprocess.run(
        [str(BINARY), "tail", "--url", hub.ws_url, *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_tail_prints_demo_scans_as_json_lines_and_stops_after_count(shared_hub, manifest):
    result = run_tail(shared_hub, shared_hub.staff_token, "scan.>", "--count", "5", "--receive-time")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5, result.stdout
    codes = manifest_codes(manifest)
    for line in lines:
        stamp, _, body = line.partition(" ")
        assert float(stamp) > 1.7e9, f"receive time {stamp!r} is not seconds since 1970"
        event = json.loads(body)
        assert event["data"]["device"] in DEMO_DEVICES
        assert scan_problems(event, codes) == [], line


def test_tail_only_prints_the_topic_it_follows(shared_hub):
    result = run_tail(shared_hub, shared_hub.staff_token, "device.status.kiosk-aisle", "--count", "1")
    assert result.returncode == 0, result.stderr
    event = json.loads(result.stdout)
    assert event["subject"] == "device.status.kiosk-aisle"
    assert event["data"]["device"] == "kiosk-aisle"


def test_tail_with_a_wrong_token_says_so_and_exits_1(shared_hub):
    result = run_tail(shared_hub, "shb_00000000_" + "A" * 43, "--count", "1")
    assert result.returncode == 1
    assert "token not accepted" in result.stderr
    assert "shb_00000000" not in result.stderr, "the token must not be echoed"


def test_tail_without_a_token_explains_where_it_goes(shared_hub):
    result = run_tail(shared_hub, None, "--count", "1")
    assert result.returncode == 64
    assert "STOREHUB_TOKEN" in result.stderr


def test_tail_against_no_hub_is_a_clear_error():
    result = subprocess.run(
        [str(BINARY), "tail", "--url", "ws://127.0.0.1:9/api/v1/bus", "--count", "1"], capture_output=True, text=True,
        env={**os.environ, "STOREHUB_TOKEN": "x"}, timeout=30)
    assert result.returncode == 1
    assert "cannot follow the bus at ws://127.0.0.1:9/api/v1/bus" in result.stderr
