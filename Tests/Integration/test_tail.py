"""`storehub tail`, the bus client for IT: it follows a running hub and prints its events as JSON lines."""

import asyncio
import json
import os
import subprocess
import threading

import websockets.asyncio.server

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


def test_tail_against_a_websocket_server_that_never_greets_tries_again_then_says_so():
    # A WebSocket server that is not a StoreHub bus: it upgrades, reads, and never says hello. tail cannot tell a
    # greeting lost on the way from one never sent, so it connects again, then gives up with a clear error.
    connections = []

    async def silent(websocket):
        connections.append(websocket.remote_address)
        async for _ in websocket:
            pass

    ready = threading.Event()
    holder = {}

    def serve():
        async def main():
            async with websockets.asyncio.server.serve(silent, "127.0.0.1", 0) as server:
                holder["port"] = server.sockets[0].getsockname()[1]
                holder["stop"] = asyncio.get_running_loop().create_future()
                holder["loop"] = asyncio.get_running_loop()
                ready.set()
                await holder["stop"]
        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        result = subprocess.run(
            [str(BINARY), "tail", "--url", f"ws://127.0.0.1:{holder['port']}/api/v1/bus", "--count", "1"],
            capture_output=True, text=True, env={**os.environ, "STOREHUB_TOKEN": "x"}, timeout=60)
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set_result, None)
        thread.join(10)
    assert result.returncode == 1
    assert "did not greet on 3 connections" in result.stderr
    assert len(connections) == 3
