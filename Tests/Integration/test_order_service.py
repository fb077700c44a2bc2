"""The example order service (examples/order-service) against the real hub: pickup scans come in through a
serial scanner on a pseudo-terminal, the service answers on display.<device>. Killed with SIGKILL in the middle
of a burst and restarted, it still answers every scan exactly once and hands each order over once."""

import collections
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import BINARY, REPO, fetch_events, open_bus, run_async
from test_pickup_codes import pickup, scanner, start  # noqa: F401 (scanner is a fixture)
from test_serial_scanner import DEVICE

SERVICE = REPO / "examples" / "order-service" / "order_service.py"
WAIT = 60.0


class OrderService:
    def __init__(self, hub, token, orders, state, log_path, delay):
        self.args = [sys.executable, str(SERVICE), "--url", hub.ws_url, "--orders", str(orders), "--state",
                     str(state), "--delay", str(delay)]
        self.env = {**os.environ, "STOREHUB_TOKEN": token}
        self.log_path = log_path
        self.process = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_for(predicate, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_killed_mid_stream_and_restarted_the_service_answers_every_scan_exactly_once(
        hub_factory, tmp_path, scanner):
    key = json.loads(pickup("keygen", "--id", "shop-1"))
    sign = ["sign", "--key-id", "shop-1", f"--private-key={key['privateKey']}"]
    orders = [{"id": f"ORD-{3000 + n}", "customer": f"Customer {n}", "items": [f"Item {n}"]} for n in range(8)]
    for order in orders:
        order["code"] = pickup(*sign, "--order", order["id"])
    (tmp_path / "orders.json").write_text(json.dumps({"orders": orders}))
    unknown = pickup(*sign, "--order", "ORD-9999")
    hub = start(hub_factory, tmp_path, scanner, [key["hubConfig"]])
    token = subprocess.run([str(BINARY), "token", "create", "--role", "service", "--state", str(hub.state_dir)],
                           capture_output=True, text=True, check=True).stdout.strip()
    service = OrderService(hub, token, tmp_path / "orders.json", tmp_path / "service-state.json",
                           tmp_path / "service.log", delay=0.1)
    # Each order twice (the second time it is already collected), and a code of an order the service lacks.
    burst = [order["code"] for order in orders] + [order["code"] for order in orders] + [unknown] * 2
    service.start()
    try:
        def answers():
            return fetch_events(hub, hub.admin_token, f"display.{DEVICE}")

        for text in burst:
            scanner.write(text.encode() + b"\r")
            time.sleep(0.05)
        wait_for(lambda: len(answers()) >= 5, "the first answers")
        service.kill()
        killed_after = len(answers())
        time.sleep(0.5)
        service.start()
        scans = wait_for(lambda: (s := fetch_events(hub, hub.admin_token, f"scan.{DEVICE}")) and
                         len(s) == len(burst) and s, "every scan in the log")
        wait_for(lambda: {a["data"]["answers"] for a in answers()} >= {s["sequence"] for s in scans},
                 "an answer to every scan")
        final = answers()
    finally:
        service.stop()

    assert killed_after < len(burst), "the service was not killed mid-stream"
    per_scan = collections.Counter(a["data"]["answers"] for a in final)
    assert all(count == 1 for count in per_scan.values()), f"answered more than once: {per_scan}"
    assert set(per_scan) == {s["sequence"] for s in scans}
    by_scan = {a["data"]["answers"]: a["data"]["state"] for a in final}
    states = [by_scan[s["sequence"]] for s in scans]
    assert states == ["ok"] * 8 + ["warning"] * 8 + ["error"] * 2, states
