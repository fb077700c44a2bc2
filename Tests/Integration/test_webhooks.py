"""Webhook sinks against a real local HTTP server (Python's http.server) that fails on purpose: CloudEvents
structured mode, order per sink, retries with backoff, the dead-letter list in /api/v1/sinks, at least once across
kill -9, and the sink's secrets kept out of logs and the API."""

import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import BINARY, http_get, open_bus, run_async

SECRET = "hook-secret-7d1f2c9a"
URL_PASSWORD = "url-pass-5e8b"


class Service:
    """A service that receives webhooks; `policy(body, attempt)` returns the status to answer with."""

    def __init__(self, policy=lambda body, attempt: 200, delay=0.0, port=0):
        self.policy = policy
        self.delay = delay
        self.lock = threading.Lock()
        self.requests = []  # (headers, body, status answered)
        self.attempts = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                body = json.loads(raw)
                if service.delay:
                    time.sleep(service.delay)
                with service.lock:
                    attempt = service.attempts.get(body["sequence"], 0) + 1
                    service.attempts[body["sequence"]] = attempt
                    status = service.policy(body, attempt)
                    service.requests.append((dict(self.headers), body, status))
                answer = b'{"ok":true}' if status < 300 else b'{"error":"on purpose"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def accepted(self):
        with self.lock:
            return [body for _, body, status in self.requests if 200 <= status < 300]

    def all_requests(self):
        with self.lock:
            return list(self.requests)

    def wait_accepted(self, count, timeout=30.0, what="deliveries"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len({b["sequence"] for b in self.accepted()}) >= count:
                return self.accepted()
            time.sleep(0.05)
        raise AssertionError(f"only {len(self.accepted())} of {count} {what} within {timeout} s; "
                             f"last requests: {[(b['sequence'], s) for _, b, s in self.all_requests()[-5:]]}")


@pytest.fixture
def service_factory():
    services = []

    def make(**kwargs):
        service = Service(**kwargs)
        services.append(service)
        return service

    yield make
    for service in services:
        service.close()


def write_config(root, service, **sink):
    (root / "devices").mkdir(exist_ok=True)
    settings = {
        "name": "order-service", "url": f"http://127.0.0.1:{service.port}/hooks/storehub", "topics": ["hook.>"],
        "headers": {"Authorization": f"Bearer {SECRET}"}, "retryDelaySeconds": 0.05, "maxRetryDelaySeconds": 0.2,
        "timeoutSeconds": 5,
    }
    settings.update(sink)
    config = {"hub": "hook-test", "devices": "devices", "sinks": [settings]}
    path = root / "hub.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def start(hub_factory, config, state, name="run"):
    """Like start_config, with the most talkative log level so the secret test sees every line the hub can log."""
    return hub_factory.start_config(config, state, name, extra_args=("--log-level", "trace"))


def publish(hub, items):
    """Publishes (topic, data) pairs in order over the bus; returns their sequences."""

    async def scenario():
        client = await open_bus(hub, hub.admin_token)
        sequences = []
        for index, (topic, data) in enumerate(items):
            sequences.append(await client.publish(topic, data, f"p{index}", event_type="it.hook"))
        return sequences

    return run_async(scenario())


def sinks_status(hub):
    status, body = hub.get("api/v1/sinks", hub.admin_token)
    assert status == 200, f"GET /api/v1/sinks: {status} {body}"
    return {sink["name"]: sink for sink in body["sinks"]}


def assert_no_secret(hub_factory, *extra_texts):
    for path in [p for hub in hub_factory.launched for p in (hub.stdout_path, hub.stderr_path)]:
        text = path.read_text(errors="replace")
        assert SECRET not in text and URL_PASSWORD not in text, f"a sink secret is in {path.name}"
    for text in extra_texts:
        assert SECRET not in text and URL_PASSWORD not in text, "a sink secret is in the status API"


def first_occurrences(bodies):
    seen, order = set(), []
    for body in bodies:
        if body["sequence"] not in seen:
            seen.add(body["sequence"])
            order.append(body["sequence"])
    return order


def test_matching_events_are_posted_in_order_as_structured_cloudevents(hub_factory, service_factory, tmp_path):
    service = service_factory()
    hub = start(hub_factory, write_config(tmp_path, service), tmp_path / "state")
    items = [(f"hook.scan.k{i % 3}", {"n": i}) for i in range(20)] + [("other.topic", {"n": 99})]
    sequences = publish(hub, items)
    bodies = service.wait_accepted(20)
    time.sleep(0.3)  # a delivery of the non-matching event would arrive by now
    bodies = service.accepted()
    assert [b["sequence"] for b in bodies] == sequences[:20], "events arrived out of order or repeated"
    assert all(b["subject"] != "other.topic" for b in bodies), "an event outside the sink's topics was posted"
    headers, body, _ = service.all_requests()[0]
    assert headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    assert headers["Authorization"] == f"Bearer {SECRET}", "the configured header was not sent"
    assert body["specversion"] == "1.0" and body["type"] == "it.hook" and body["data"] == {"n": 0}
    assert body["id"] and body["source"] and body["time"]
    status = sinks_status(hub)["order-service"]
    assert status["delivered"] == 20 and status["deadLetterCount"] == 0, status
    assert status["acked"] >= sequences[19], status


def test_a_failing_service_gets_retries_with_backoff_and_order_is_kept(hub_factory, service_factory, tmp_path):
    # Every event fails three times (503, then a 500 and a 429) before it is taken.
    statuses = {1: 503, 2: 500, 3: 429}
    service = service_factory(policy=lambda body, attempt: statuses.get(attempt, 200))
    hub = start(hub_factory, write_config(tmp_path, service, maxAttempts=6), tmp_path / "state")
    sequences = publish(hub, [("hook.retry", {"n": i}) for i in range(8)])
    service.wait_accepted(8)
    requests = service.all_requests()
    # The next event is never sent before the previous one was taken: the request log is each event 4 times in a row.
    assert [b["sequence"] for _, b, _ in requests] == [s for s in sequences for _ in range(4)], \
        [(b["sequence"], s) for _, b, s in requests]
    status = sinks_status(hub)["order-service"]
    assert status["failedAttempts"] == 24 and status["deadLetterCount"] == 0, status
    assert status["lastError"] == "HTTP 429", status


def test_retries_wait_longer_each_time(hub_factory, service_factory, tmp_path):
    times = []

    def policy(body, attempt):
        times.append(time.monotonic())
        return 500 if attempt <= 4 else 200

    service = service_factory(policy=policy)
    hub = start(hub_factory, write_config(tmp_path, service, retryDelaySeconds=0.2, maxRetryDelaySeconds=10,
                                          maxAttempts=6), tmp_path / "state")
    publish(hub, [("hook.backoff", {"n": 1})])
    service.wait_accepted(1)
    gaps = [b - a for a, b in zip(times, times[1:])]
    # Delays are random in [base/2, base] with base 0.2, 0.4, 0.8, 1.6 s: each gap has a floor that doubles.
    floors = [0.1, 0.2, 0.4, 0.8]
    assert all(gap >= floor for gap, floor in zip(gaps, floors)), f"gaps {gaps} below the floors {floors}"


def test_an_event_that_keeps_failing_goes_to_the_dead_letter_list_and_delivery_goes_on(
        hub_factory, service_factory, tmp_path):
    service = service_factory(policy=lambda body, attempt: 500 if body["data"].get("poison") else 200)
    config = write_config(tmp_path, service, maxAttempts=3)
    state = tmp_path / "state"
    hub = start(hub_factory, config, state)
    sequences = publish(hub, [("hook.a", {"n": 0}), ("hook.a", {"poison": True}), ("hook.a", {"n": 2})])
    service.wait_accepted(2)
    assert [b["sequence"] for b in service.accepted()] == [sequences[0], sequences[2]]
    assert service.attempts[sequences[1]] == 3, f"the failing event was tried {service.attempts[sequences[1]]} times"
    status = sinks_status(hub)["order-service"]
    assert status["deadLetterCount"] == 1, status
    dead = status["deadLetters"][0]
    assert dead["sequence"] == sequences[1] and dead["attempts"] == 3 and dead["lastError"] == "HTTP 500", dead
    assert dead["event"]["data"] == {"poison": True} and dead["topic"] == "hook.a", dead
    # The list is in the database: it survives a restart, and the event is not tried again.
    hub.stop()
    again = start(hub_factory, config, state, name="restart")
    time.sleep(0.5)
    status = sinks_status(again)["order-service"]
    assert status["deadLetterCount"] == 1 and status["deadLetters"][0]["sequence"] == sequences[1], status
    assert service.attempts[sequences[1]] == 3, "a dead-lettered event was tried again after the restart"


def make_token(hub, role):
    result = subprocess.run([str(BINARY), "token", "create", "--role", role, "--state", str(hub.state_dir)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return next(word for word in result.stdout.split() if word.startswith("shb_"))


def test_dead_letters_are_sent_again_on_request_once_the_service_is_fixed_and_an_admin_may_delete_them(
        hub_factory, service_factory, tmp_path):
    broken = threading.Event()
    broken.set()
    service = service_factory(
        policy=lambda body, attempt: 500 if broken.is_set() and body["data"].get("poison") else 200)
    hub = start(hub_factory, write_config(tmp_path, service, maxAttempts=2), tmp_path / "state")
    sequences = publish(hub, [("hook.a", {"n": 0}), ("hook.a", {"poison": 1}), ("hook.a", {"n": 2}),
                              ("hook.a", {"poison": 3})])
    service.wait_accepted(2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sinks_status(hub)["order-service"]["deadLetterCount"] < 2:
        time.sleep(0.05)
    assert sinks_status(hub)["order-service"]["deadLetterCount"] == 2
    resend = "api/v1/sinks/order-service/dead-letters/resend"
    assert hub.post(resend)[0] == 401
    assert hub.post(resend, make_token(hub, "service"))[0] == 403
    assert hub.post("api/v1/sinks/no-such-sink/dead-letters/resend", hub.admin_token)[0] == 404

    # The service is fixed; staff has the two sent again, oldest first, after what was delivered.
    broken.clear()
    staff = make_token(hub, "staff")
    status, body = hub.post(resend, staff)
    assert (status, body) == (200, {"sink": "order-service", "resending": 2}), body
    service.wait_accepted(4, what="deliveries with the dead letters")
    assert [b["sequence"] for b in service.accepted()] == [sequences[0], sequences[2], sequences[1], sequences[3]]
    assert service.accepted()[2]["data"] == {"poison": 1}, "the dead letter was not sent as it was stored"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and sinks_status(hub)["order-service"]["deadLetterCount"]:
        time.sleep(0.05)
    status = sinks_status(hub)["order-service"]
    assert status["deadLetterCount"] == 0 and status["deadLettersResent"] == 2, status

    # A dead letter that fails again stays on the list; only an admin may delete the list.
    broken.set()
    poison = publish(hub, [("hook.a", {"poison": 5})])[0]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sinks_status(hub)["order-service"]["deadLetterCount"] < 1:
        time.sleep(0.05)
    assert hub.post(resend, staff)[0] == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and service.attempts.get(poison, 0) < 4:
        time.sleep(0.05)
    assert service.attempts[poison] == 4, f"tried {service.attempts.get(poison)} times, expected 2 + 2"
    status = sinks_status(hub)["order-service"]
    assert status["deadLetterCount"] == 1 and status["deadLetters"][0]["attempts"] == 4, status
    delete = hub.url + "api/v1/sinks/order-service/dead-letters"
    assert http_get(delete, staff, method="DELETE")[0] == 403
    assert http_get(delete, hub.admin_token, method="DELETE") == (200, {"sink": "order-service", "deleted": 1})
    assert sinks_status(hub)["order-service"]["deadLetterCount"] == 0
    assert "sink order-service: 1 dead letters deleted" in hub.stderr_text()


def test_a_service_that_is_down_counts_as_failure_and_gets_the_events_when_back(
        hub_factory, service_factory, tmp_path):
    down = service_factory()
    port = down.port
    down.close()  # nothing listens on the port now
    placeholder = type("Down", (), {"port": port})
    hub = start(hub_factory, write_config(tmp_path, placeholder, maxAttempts=1000, maxRetryDelaySeconds=0.1),
                tmp_path / "state")
    sequences = publish(hub, [("hook.down", {"n": i}) for i in range(3)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sinks_status(hub)["order-service"]["failedAttempts"] < 3:
        time.sleep(0.1)
    status = sinks_status(hub)["order-service"]
    assert status["state"] == "retrying" and status["retrying"]["sequence"] == sequences[0], status
    assert "refused" in status["lastError"].lower() or "connect" in status["lastError"].lower(), status
    # The service comes back on the same port.
    back = service_factory(port=port)
    back.wait_accepted(3)
    assert first_occurrences(back.accepted()) == sequences


def test_nothing_is_lost_across_kill_9(hub_factory, service_factory, tmp_path):
    # Slow answers and a failure now and then, so the kill lands in the middle of deliveries and retries.
    service = service_factory(policy=lambda body, attempt: 503 if body["data"]["n"] % 7 == 0 and attempt == 1 else 200,
                              delay=0.02)
    config = write_config(tmp_path, service, maxAttempts=1000)
    state = tmp_path / "state"
    hub = start(hub_factory, config, state)
    total = 150
    sequences = publish(hub, [("hook.crash", {"n": i}) for i in range(total)])
    deadline = time.monotonic() + 20
    while len(service.accepted()) < total // 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    delivered_before = len(service.accepted())
    assert delivered_before < total, "everything was delivered before the kill; the test proves nothing"
    hub.kill()
    again = start(hub_factory, config, state, name="after-kill")
    service.wait_accepted(total, timeout=60)
    bodies = service.accepted()
    assert set(b["sequence"] for b in bodies) == set(sequences), "events were lost across kill -9"
    assert first_occurrences(bodies) == sequences, "first deliveries are out of order"
    duplicates = len(bodies) - total
    # What was repeated is only what was in flight or not yet acknowledged when the hub died.
    assert duplicates <= 256, f"{duplicates} events delivered twice"
    status = sinks_status(again)["order-service"]
    assert status["deadLetterCount"] == 0, status


def test_sink_secrets_never_appear_in_logs_or_the_status_api(hub_factory, service_factory, tmp_path):
    service = service_factory(policy=lambda body, attempt: 401 if attempt == 1 else 200)
    url = f"http://storehub:{URL_PASSWORD}@127.0.0.1:{service.port}/hooks?key={URL_PASSWORD}"
    config = write_config(tmp_path, service, url=url, maxAttempts=3)
    hub = start(hub_factory, config, tmp_path / "state")
    publish(hub, [("hook.secret", {"n": 1})])
    service.wait_accepted(1)
    headers, _, _ = service.all_requests()[-1]
    assert headers["Authorization"] == f"Bearer {SECRET}", "the configured header overrides the URL's user"
    status, body = hub.get("api/v1/sinks", hub.admin_token)
    assert status == 200
    text = json.dumps(body)
    assert "127.0.0.1" in text and "/hooks" in text, "the status API does not show where the sink posts"
    hub.stop()
    assert_no_secret(hub_factory, text)


def test_sinks_status_needs_a_staff_or_admin_token(hub_factory, service_factory, tmp_path):
    service = service_factory()
    hub = start(hub_factory, write_config(tmp_path, service), tmp_path / "state")
    status, _ = hub.get("api/v1/sinks")
    assert status == 401


@pytest.mark.parametrize("sink, problem", [
    ({"url": "ftp://127.0.0.1/x"}, "expected an http:// or https:// URL"),
    ({"topics": []}, "expected at least one topic pattern"),
    ({"topics": ["scan..x"]}, "sinks[0].topics[0]"),
    ({"maxAttempts": 0}, "sinks[0].maxAttempts"),
    ({"headers": {"X-Bad": "a\r\nInjected: yes"}}, "contains a line break"),
    ({"name": "bad name!"}, "sinks[0].name"),
    ({"unknown": 1}, "sinks[0].unknown"),
])
def test_bad_sink_settings_stop_the_hub_with_a_clear_error(hub_factory, service_factory, tmp_path, sink, problem):
    service = service_factory()
    config = write_config(tmp_path, service, **sink)
    code, stdout, stderr, ready = hub_factory.run_to_exit(
        ["run", "--config", str(config), "--state", str(tmp_path / "state"), "--port", "0"])
    assert not ready and code == 78, f"exit {code}, ready={ready}\n{stderr}"
    assert problem in stderr, f"expected {problem!r} in:\n{stderr}"
    assert SECRET not in stderr + stdout
