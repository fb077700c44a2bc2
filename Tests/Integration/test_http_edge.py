"""The HTTP edge against the lowest-rights clients: every query and path value is checked into its range (400 naming
the parameter, never a crash), event pages are bounded in bytes, connections without a token are bounded per
address, half-sent requests are cut off, and the hub's pages and state files are protected."""

import base64
import json
import os
import select
import socket
import stat
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

from conftest import BINARY, REPO, _http, http_get, open_bus, run_async

# ConnectionLimits' defaults (Sources/Server/ConnectionLimiter.swift).
UNAUTHENTICATED_PER_ADDRESS = 16
HEADER_TIMEOUT = 10.0


def device_token(hub, device):
    return subprocess.run([str(BINARY), "token", "create", "--role", "device", "--device", device,
                           "--state", str(hub.state_dir)], capture_output=True, text=True, check=True).stdout.strip()


def connect_from(hub, source):
    """A TCP connection to the hub from the loopback address `source` (127.0.0.0/8 is all this machine's)."""
    return socket.create_connection(("127.0.0.1", hub.port), timeout=10, source_address=(source, 0))


def closed_by_hub(sockets, wait):
    """The sockets the hub closed within `wait` seconds (end of stream or reset); the others stay unread."""
    closed = set()
    deadline = time.monotonic() + wait
    while len(closed) < len(sockets):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        readable, _, _ = select.select([s for s in sockets if s not in closed], [], [], left)
        for sock in readable:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                data = b""
            if not data:
                closed.add(sock)
    return closed


def first_answers(sockets, wait):
    """What each socket first received from the hub within `wait` seconds: b"" when it was closed unanswered."""
    answers = {}
    deadline = time.monotonic() + wait
    while len(answers) < len(sockets) and time.monotonic() < deadline:
        pending = [s for s in sockets if s not in answers]
        readable, _, _ = select.select(pending, [], [], max(0.0, deadline - time.monotonic()))
        for sock in readable:
            try:
                answers[sock] = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                answers[sock] = b""
    return [answers.get(sock, b"(nothing)") for sock in sockets]


def upgrade_request(hub):
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET /api/v1/bus HTTP/1.1\r\nHost: 127.0.0.1:{hub.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


# MARK: finding 2, every value from a client into its range


def test_numbers_out_of_range_in_event_queries_are_refused_with_400_naming_the_parameter(shared_hub):
    token = device_token(shared_hub, "kiosk-pickup")
    own = "topic=mirror.command.kiosk-pickup&"
    cases = [
        ("after=9223372036854775808", "after"), ("after=18446744073709551616", "after"), ("after=-1", "after"),
        ("after=1e3", "after"), ("after=", "after"), ("after=%2B5", "after"), ("after=0x10", "after"),
        ("after=%205", "after"), ("after=1&after=2", "after"), ("limit=0", "limit"), ("limit=1001", "limit"),
        ("limit=99999999999999999999999999", "limit"), ("limit=-5", "limit"), ("topic=scan..x", "topic"),
        ("topic=" + "a" * 2000, "topic"),
    ]
    for query, parameter in cases:
        status, body = http_get(shared_hub.url + "api/v1/events?" + (query if query.startswith("topic") else
                                                                      own + query), token)
        assert status == 400, f"?{query[:60]} answered {status}: {body}"
        assert body["error"]["parameter"] == parameter, f"?{query[:60]}: {body}"
        assert parameter in body["error"]["message"], body
    status, body = http_get(shared_hub.url + "healthz")
    assert status == 200 and body["status"] == "ok", "the hub did not survive the queries"
    # The largest sequence there is still reads, as an empty page that stays where it is.
    status, body = http_get(shared_hub.url + "api/v1/events?after=9223372036854775807", shared_hub.staff_token)
    assert status == 200 and body["events"] == [] and body["next"] == 9223372036854775807, body


def test_path_values_are_checked_into_their_grammar(shared_hub):
    staff = shared_hub.staff_token
    for path, parameter in (("api/v1/devices/Kiosk/preview.jpg", "id"), ("api/v1/devices/a%00b/preview.jpg", "id"),
                            ("api/v1/devices/" + "x" * 200 + "/preview.jpg", "id")):
        status, body = http_get(shared_hub.url + path, staff)
        assert status == 400 and body["error"]["parameter"] == parameter, f"{path[:60]}: {status} {body}"
    status, body = http_get(shared_hub.url + "api/v1/devices/K%2E/restart", staff, method="POST")
    assert status == 400 and body["error"]["parameter"] == "id", body


# MARK: finding 9, event pages bounded in bytes


def test_event_pages_stop_at_a_byte_bound_and_say_where_to_continue(shared_hub):
    topic = f"bulk.edge-{uuid.uuid4().hex[:8]}"
    filler = "x" * 50_000

    async def publish():
        client = await open_bus(shared_hub, shared_hub.admin_token or shared_hub.staff_token)
        sequences = [await client.publish(topic, {"n": n, "filler": filler}, ref=f"p{n}") for n in range(40)]
        await client.close()
        return sequences

    sequences = run_async(publish())
    seen, after, pages = [], 0, 0
    while True:
        query = urllib.parse.urlencode({"topic": topic, "after": after, "limit": 1000})
        request = urllib.request.Request(shared_hub.url + "api/v1/events?" + query,
                                         headers={"Authorization": f"Bearer {shared_hub.staff_token}"})
        with _http.open(request, timeout=30) as response:
            raw = response.read()
        page = json.loads(raw)
        pages += 1
        assert len(raw) <= (1 << 20) + 64 * 1024, f"a page of {len(raw)} bytes"
        if not page["events"]:
            assert page["truncated"] is False
            break
        seen.extend(event["sequence"] for event in page["events"])
        if len(seen) < len(sequences):
            assert page["truncated"] is True, "a page cut short by its size must say so"
        assert page["next"] == page["events"][-1]["sequence"]
        after = page["next"]
        assert pages < 50, "pages made no progress"
    assert seen == sequences, "paging lost or repeated events"
    assert pages >= 3, f"40 events of 50 kB came in {pages} pages: the byte bound did not apply"


# MARK: findings 7 and 8, connections without a token, half-sent requests


def test_connections_without_a_token_are_capped_per_address_and_others_are_still_served(hub):
    sockets = [connect_from(hub, "127.0.0.2") for _ in range(60)]
    upgrades = []
    try:
        closed = closed_by_hub(sockets, 3)
        assert len(sockets) - len(closed) == UNAUTHENTICATED_PER_ADDRESS, \
            f"{len(sockets) - len(closed)} of 60 silent connections from one address were kept"
        # WebSocket upgrades without a token from another address: the same cap.
        for _ in range(30):
            sock = connect_from(hub, "127.0.0.3")
            sock.sendall(upgrade_request(hub))
            upgrades.append(sock)
        answers = first_answers(upgrades, 15)
        upgraded = sum(1 for answer in answers if answer.startswith(b"HTTP/1.1 101"))
        refused = sum(1 for answer in answers if answer == b"")
        assert upgraded <= UNAUTHENTICATED_PER_ADDRESS and upgraded + refused == len(upgrades), \
            f"30 upgrades without a token from one address: {upgraded} upgraded, {refused} closed unanswered"

        status, body = http_get(hub.url + "healthz")
        assert status == 200 and body["status"] == "ok"

        async def bus():
            client = await open_bus(hub, hub.staff_token)
            await client.ping()
            await client.close()

        run_async(bus())
    finally:
        for sock in sockets + upgrades:
            sock.close()


def test_bus_max_connections_counts_only_authenticated_connections(hub_factory, tmp_path):
    (tmp_path / "devices").mkdir()
    config = tmp_path / "hub.json"
    config.write_text(json.dumps({"hub": "edge", "listen": {"port": 0}, "devices": "devices",
                                  "bus": {"maxConnections": 3}}))
    hub = hub_factory.start_config(config)
    waiting = []
    try:
        # Ten bus connections that never show a token, each from its own address.
        for index in range(10):
            sock = connect_from(hub, f"127.0.1.{index + 1}")
            sock.sendall(upgrade_request(hub))
            waiting.append(sock)
        time.sleep(0.5)

        async def three():
            clients = [await open_bus(hub, hub.admin_token) for _ in range(3)]
            for client in clients:
                await client.ping()

        run_async(three())
    finally:
        for sock in waiting:
            sock.close()


def test_half_sent_requests_are_cut_off_after_the_header_timeout(hub):
    started = time.monotonic()
    slow = []
    for _ in range(10):
        sock = connect_from(hub, "127.0.0.4")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow.append(sock)
    closed = set()
    # One more header line every second, never the blank line that ends the head (slowloris).
    while len(closed) < len(slow) and time.monotonic() - started < HEADER_TIMEOUT + 20:
        for sock in slow:
            if sock not in closed:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    closed.add(sock)
        closed |= closed_by_hub([s for s in slow if s not in closed], 1)
        status, _ = http_get(hub.url + "healthz")
        assert status == 200, "/healthz failed while half-sent requests were open"
    elapsed = time.monotonic() - started
    for sock in slow:
        sock.close()
    assert len(closed) == len(slow), f"{len(slow) - len(closed)} half-sent requests still open after {elapsed:.0f} s"
    assert elapsed >= HEADER_TIMEOUT - 1, f"cut off after {elapsed:.1f} s, before the header timeout"


def test_the_unit_raises_the_file_limit():
    unit = (REPO / "systemd" / "storehub.service").read_text()
    values = [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("LimitNOFILE=")]
    assert values and int(values[0]) >= 8192, f"LimitNOFILE in the unit: {values}"


# MARK: lower classes: framing, state files


def test_the_status_page_and_api_answers_may_not_be_framed(shared_hub):
    for path, token in (("", None), ("api/v1/devices", None), ("healthz", None)):
        request = urllib.request.Request(shared_hub.url + path)
        try:
            with _http.open(request, timeout=10) as response:
                headers = response.headers
        except urllib.error.HTTPError as error:
            headers = error.headers
        assert headers["X-Frame-Options"] == "DENY", f"/{path}: {dict(headers)}"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], f"/{path}: {dict(headers)}"


def test_state_directory_and_database_are_private_when_made_by_hand(hub_factory, tmp_path):
    old = os.umask(0o022)
    try:
        state = tmp_path / "fresh" / "state"
        hub = hub_factory.start(state_dir=state)
        files = [hub.database, Path(str(hub.database) + "-wal")]
        token_state = tmp_path / "tokens-only"
        subprocess.run([str(BINARY), "token", "create", "--role", "staff", "--state", str(token_state)],
                       capture_output=True, check=True)
    finally:
        os.umask(old)
    for folder in (state, token_state):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, f"{folder.name}: {oct(folder.stat().st_mode)}"
    for path in files + [token_state / "hub.sqlite"]:
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path.name}: {oct(path.stat().st_mode)}"
    assert hub.database.exists()
