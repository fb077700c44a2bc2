"""Runs the real storehub binary and talks to it the way clients do: WebSocket bus and REST over HTTP.

Every hub gets a fresh state directory under pytest's tmp_path and a port picked by the hub itself
(--port 0); the "Status page:" line on stdout says which one and marks the hub ready.
"""

import asyncio
import base64
import collections
import contextvars
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("STOREHUB_BIN") or REPO / ".build" / "debug" / "storehub").resolve()
MANIFEST = REPO / "Assets" / "demo" / "media" / "manifest.json"
DEMO_DEVICES = ("kiosk-pickup", "kiosk-aisle")
# The demo store's try-on mirror (it needs the portrait and face models fetched by scripts/install-deps).
DEMO_MIRRORS = ("mirror-beauty",)

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
TOKEN_PATTERN = re.compile(r"shb_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")

ADMIN_PREFIX = "Admin token, shown only this once: "
STAFF_PREFIX = "Staff token for this run: "
READY_PREFIX = "Status page: "

# Loopback traffic must never go through a proxy configured in the environment.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Bus clients opened inside run_async, closed when it ends: a failed assertion must not leave a
# connection behind that keeps the hub's graceful stop waiting for its close handshake.
_open_clients = contextvars.ContextVar("open_clients", default=None)


class HubNotReady(AssertionError):
    pass


class Hub:
    """One running storehub process."""

    def __init__(self, process, state_dir, url, admin_token, staff_token, stdout_path, stderr_path):
        self.process = process
        self.state_dir = state_dir
        self.url = url
        self.ws_url = "ws" + url[len("http"):] + "api/v1/bus"
        self.admin_token = admin_token
        self.staff_token = staff_token
        self.stdout_path = stdout_path
        self.stderr_path = stderr_path
        self.killed = False
        self.stopped = False

    @property
    def port(self):
        return urllib.parse.urlsplit(self.url).port

    @property
    def database(self):
        return self.state_dir / "hub.sqlite"

    def stop(self):
        """SIGTERM, then the graceful stop must end with exit code 0."""
        if self.stopped or self.killed:
            return
        self.stopped = True
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"storehub did not exit within {STOP_TIMEOUT:.0f} s of SIGTERM") from None
        assert code == 0, f"storehub exited with {code} after SIGTERM, expected 0"

    def kill(self):
        """SIGKILL, as a power cut would: nothing gets to flush or say goodbye."""
        self.killed = True
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT)

    def get(self, path, token=None):
        return http_get(self.url + path.lstrip("/"), token)

    def post(self, path, token=None):
        return http_get(self.url + path.lstrip("/"), token, method="POST")

    def stderr_text(self):
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""


class HubFactory:
    """Starts hubs for one test and stops them at its end."""

    def __init__(self, root):
        self.root = root
        self.hubs = []
        self.launched = []
        # The admin token is printed only on a state directory's first run; restarts reuse it.
        self.admin_tokens = {}

    def _paths(self, name):
        index = len(self.launched)
        return self.root / f"hub{index}-{name}.stdout", self.root / f"hub{index}-{name}.stderr"

    def launch(self, args, name="run", env=None):
        """Starts `storehub ARGS` with cwd = repo root; stdout and stderr go to files in tmp_path.
        `env` adds variables to the environment."""
        if not BINARY.is_file():
            pytest.fail(f"no storehub binary at {BINARY}: run `swift build` or set STOREHUB_BIN")
        stdout_path, stderr_path = self._paths(name)
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            process = subprocess.Popen(
                [str(BINARY), *args], cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                env={**os.environ, **env} if env else None)
        self.launched.append((process, stdout_path, stderr_path))
        return process, stdout_path, stderr_path

    def start(self, state_dir=None, extra_args=(), env=None):
        """Starts the demo hub and waits for its ready line."""
        if state_dir is None:
            state_dir = self.root / f"state{len(self.launched)}"
        state_dir = Path(state_dir)
        process, stdout_path, stderr_path = self.launch(
            ["run", "--state", str(state_dir), "--port", "0", *extra_args], env=env)
        lines = wait_for_line(process, stdout_path, stderr_path, READY_PREFIX, READY_TIMEOUT)
        admin = staff = url = None
        for line in lines:
            if line.startswith(ADMIN_PREFIX):
                admin = line[len(ADMIN_PREFIX):].strip()
            elif line.startswith(STAFF_PREFIX):
                staff = line[len(STAFF_PREFIX):].strip()
            elif line.startswith(READY_PREFIX):
                url = line[len(READY_PREFIX):].strip()
        for label, token in (("admin", admin), ("staff", staff)):
            if token is not None:
                assert TOKEN_PATTERN.fullmatch(token), f"{label} token has an unexpected shape"
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url), f"unexpected status page line: {url!r}"
        if admin is not None:
            assert str(state_dir) not in self.admin_tokens, "admin token printed again on a restart"
            self.admin_tokens[str(state_dir)] = admin
        assert staff is not None, "the demo hub printed no staff token"
        hub = Hub(process, state_dir, url, self.admin_tokens.get(str(state_dir)), staff, stdout_path, stderr_path)
        self.hubs.append(hub)
        return hub

    def start_config(self, config, state_dir=None, name="run"):
        """Starts `storehub run --config CONFIG` (a hub with its own devices folder) and waits for its ready line.

        The returned Hub has the admin token printed on the state directory's first run and no staff token.
        """
        if state_dir is None:
            state_dir = self.root / f"state{len(self.launched)}"
        state_dir = Path(state_dir)
        process, stdout_path, stderr_path = self.launch(
            ["run", "--config", str(config), "--state", str(state_dir), "--port", "0"], name)
        lines = wait_for_line(process, stdout_path, stderr_path, READY_PREFIX, READY_TIMEOUT)
        url = next(line[len(READY_PREFIX):].strip() for line in lines if line.startswith(READY_PREFIX))
        for line in lines:
            if line.startswith(ADMIN_PREFIX):
                self.admin_tokens[str(state_dir)] = line[len(ADMIN_PREFIX):].strip()
        hub = Hub(process, state_dir, url, self.admin_tokens.get(str(state_dir)), None, stdout_path, stderr_path)
        self.hubs.append(hub)
        return hub

    def run_to_exit(self, args, timeout=20.0, name="run"):
        """Runs storehub expecting it to exit by itself. A hub that becomes ready is stopped at once.

        Returns (exit code, stdout, stderr, became_ready).
        """
        process, stdout_path, stderr_path = self.launch(args, name)
        deadline = time.monotonic() + timeout
        became_ready = False
        while process.poll() is None:
            if READY_PREFIX in stdout_path.read_text(errors="replace"):
                became_ready = True
                process.kill()
                break
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise AssertionError(f"storehub {' '.join(args)} neither exited nor became ready within {timeout:.0f} s")
            time.sleep(0.05)
        code = process.wait()
        return code, stdout_path.read_text(errors="replace"), stderr_path.read_text(errors="replace"), became_ready

    def close(self):
        problems = []
        for hub in self.hubs:
            try:
                hub.stop()
            except AssertionError as error:
                problems.append(f"{hub.url}: {error}")
        for process, _, _ in self.launched:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert not problems, "; ".join(problems)

    def stderr_files(self):
        return [stderr for _, _, stderr in self.launched]


def wait_for_line(process, stdout_path, stderr_path, prefix, timeout):
    """Waits until stdout has a complete line starting with `prefix`; returns all complete lines so far."""
    deadline = time.monotonic() + timeout
    while True:
        text = stdout_path.read_text(errors="replace")
        lines = text.split("\n")[:-1]
        if any(line.startswith(prefix) for line in lines):
            return lines
        code = process.poll()
        if code is not None:
            raise HubNotReady(
                f"storehub exited with {code} before printing {prefix!r}\n"
                f"stdout:\n{text}\nstderr:\n{stderr_path.read_text(errors='replace')[-4000:]}")
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise HubNotReady(f"storehub printed no {prefix!r} line within {timeout:.0f} s\nstdout:\n{text}")
        time.sleep(0.05)


# MARK: fixtures


@pytest.fixture
def hub_factory(tmp_path):
    factory = HubFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def hub(hub_factory):
    """A demo hub on a fresh state directory."""
    return hub_factory.start()


@pytest.fixture(scope="module")
def shared_hub(tmp_path_factory):
    """One demo hub for a module of tests that each must leave it serving."""
    factory = HubFactory(tmp_path_factory.mktemp("shared-hub"))
    try:
        yield factory.start()
    finally:
        factory.close()


@pytest.fixture(scope="session")
def manifest():
    with open(MANIFEST, encoding="utf-8") as file:
        return json.load(file)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        files = []
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, HubFactory):
                files.extend(value.stderr_files())
            elif isinstance(value, Hub):
                files.append(value.stderr_path)
        for path in dict.fromkeys(files):
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()
                report.sections.append((f"storehub stderr ({path.name})", "\n".join(lines[-200:])))
    return report


# MARK: HTTP


def http_get(url, token=None, timeout=10.0, method="GET"):
    """GET (or another bodiless method); returns (status, decoded JSON or text). HTTP errors are returned, not
    raised."""
    request = urllib.request.Request(url, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _http.open(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode("utf-8", "replace")


def fetch_events(hub, token, topic=">", after=0, limit=1000):
    """Every event in the log after `after` on `topic`, following `next` page by page."""
    events = []
    for _ in range(10_000):
        query = urllib.parse.urlencode({"topic": topic, "after": after, "limit": limit})
        status, body = hub.get(f"api/v1/events?{query}", token)
        assert status == 200, f"GET /api/v1/events?{query} answered {status}: {body}"
        events.extend(body["events"])
        following = body["next"]
        if not body["events"] and following == after:
            return events
        assert following > after, f"/api/v1/events made no progress: after={after}, next={following}"
        after = following
    raise AssertionError("/api/v1/events did not run out of pages")


# MARK: WebSocket bus


class BusClient:
    """A bus connection with bounded waits whose failures say what was seen instead."""

    def __init__(self, ws):
        self.ws = ws
        self.recent = collections.deque(maxlen=12)

    async def send(self, **message):
        await self.ws.send(json.dumps(message))

    async def send_text(self, text):
        await self.ws.send(text)

    async def next(self, timeout=5.0, what="a message"):
        try:
            async with asyncio.timeout(timeout):
                raw = await self.ws.recv()
        except TimeoutError:
            raise AssertionError(f"no message within {timeout} s while waiting for {what}; {self._seen()}") from None
        message = json.loads(raw)
        self.recent.append(message)
        return message

    async def until(self, predicate, timeout=5.0, what="a matching message"):
        """The first message that satisfies `predicate`; the ones before it are passed over."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; {self._seen()}")
            try:
                message = await self.next(left, what)
            except ConnectionClosed as closed:
                raise AssertionError(f"connection closed ({closed}) while waiting for {what}; {self._seen()}") from None
            if predicate(message):
                return message

    async def reply(self, op, ref, timeout=5.0):
        """The `op` reply carrying `ref`; an `error` with that ref fails at once."""
        message = await self.until(
            lambda m: m.get("ref") == ref and m["op"] in (op, "error"), timeout, f"{op} for ref {ref!r}")
        assert message["op"] == op, f"expected {op} for ref {ref!r}, got {message}"
        return message

    async def ping(self, timeout=5.0):
        ref = f"ping-{uuid.uuid4().hex[:8]}"
        await self.send(op="ping", ref=ref)
        return await self.reply("pong", ref, timeout)

    async def subscribe(self, sub_id, topic, timeout=5.0, **options):
        await self.send(op="subscribe", id=sub_id, topic=topic, **options)
        message = await self.until(
            lambda m: (m["op"] == "subscribed" and m.get("id") == sub_id) or m["op"] == "error",
            timeout, f"subscribed {sub_id!r}")
        assert message["op"] == "subscribed", f"subscribe {sub_id!r} to {topic!r} refused: {message}"
        return message

    async def publish(self, topic, data, ref, event_type="it.test", timeout=5.0):
        """Publishes and waits for acceptance; returns the sequence."""
        await self.send(op="publish", topic=topic, type=event_type, data=data, ref=ref)
        return (await self.reply("published", ref, timeout))["sequence"]

    async def closed(self, timeout=5.0, what="the connection to close"):
        """Reads until the hub closes the connection; returns the messages read before the close."""
        messages = []
        try:
            async with asyncio.timeout(timeout):
                async for raw in self.ws:
                    messages.append(json.loads(raw))
        except TimeoutError:
            raise AssertionError(f"still open after {timeout} s waiting for {what}; got {messages[-5:]}") from None
        except ConnectionClosed:
            pass
        async with asyncio.timeout(timeout):
            await self.ws.wait_closed()
        return messages

    @property
    def close_code(self):
        """The code of the close frame the hub sent, None when it sent none."""
        received = self.ws.protocol.close_rcvd
        return received.code if received is not None else None

    async def close(self):
        await self.ws.close()

    def _seen(self):
        return f"last messages: {list(self.recent)}"


def run_async(coroutine):
    """asyncio.run for a test scenario; closes every bus client the scenario opened, even when it fails."""

    async def scenario():
        opened = []
        _open_clients.set(opened)
        try:
            return await coroutine
        finally:
            for client in opened:
                try:
                    async with asyncio.timeout(6):
                        await client.ws.close()
                except (TimeoutError, OSError):
                    pass

    return asyncio.run(scenario())


async def open_bus(hub, token=None, auth="header"):
    """Connects to the bus. auth="header" sends the token on the upgrade, "op" sends an auth message,
    None leaves the connection unauthenticated. Returns after hello (and authenticated)."""
    headers = {"Authorization": f"Bearer {token}"} if auth == "header" else None
    ws = await connect(
        hub.ws_url, additional_headers=headers, proxy=None, compression=None, open_timeout=10, close_timeout=5)
    client = BusClient(ws)
    opened = _open_clients.get()
    if opened is not None:
        opened.append(client)
    hello = await client.next(what="hello")
    assert hello["op"] == "hello", f"first message is not hello: {hello}"
    assert hello["authenticated"] is (auth == "header"), f"hello says authenticated={hello['authenticated']}"
    if auth == "op":
        await client.send(op="auth", token=token)
        reply = await client.until(lambda m: m["op"] in ("authenticated", "error"), 5, "authenticated")
        assert reply["op"] == "authenticated", f"auth refused: {reply}"
    return client


def manifest_codes(manifest):
    """{device: {(symbology, text), ...}} of every code printed in the demo media."""
    return {
        device: {(code["symbology"], code["text"]) for frame in entry["frames"] for code in frame["codes"]}
        for device, entry in manifest["devices"].items()
    }


def scan_problems(event, codes):
    """What is wrong with one scan event compared to the demo media; empty when nothing is."""
    problems = []
    data = event.get("data") or {}
    device = data.get("device")
    if event.get("type") != "storehub.scan":
        problems.append(f"type {event.get('type')!r}")
    if event.get("subject") != f"scan.{device}":
        problems.append(f"subject {event.get('subject')!r} for device {device!r}")
    if event.get("specversion") != "1.0" or not str(event.get("source", "")).endswith(f"/{device}"):
        problems.append(f"envelope specversion={event.get('specversion')!r} source={event.get('source')!r}")
    if device not in codes:
        return problems + [f"unknown device {device!r}"]
    symbology, text = data.get("symbology"), data.get("text")
    try:
        raw = base64.b64decode(data.get("bytes", ""), validate=True)
    except ValueError:
        raw = None
    if raw != str(text).encode("utf-8"):
        problems.append(f"bytes {raw!r} are not the UTF-8 of text {text!r}")
    # The demo descriptors' decoder.classes: pickup codes and retail codes are classified, the rest not.
    if str(text).startswith("PICKUP:ORD-"):
        expected_class = "pickup-order"
    elif symbology in ("ean13", "ean8", "upca", "upce"):
        expected_class = "product"
    else:
        expected_class = None
    if data.get("class") != expected_class:
        problems.append(f"class {data.get('class')!r} for {symbology} {text!r}, expected {expected_class!r}")
    if data.get("strategy") not in ("plain", "inverted", "stretched", "sharpened", "upscaled", "rotated",
                                  "binarized", "rectified"):
        problems.append(f"strategy {data.get('strategy')!r}")
    if (symbology, text) in codes[device]:
        if symbology in ("ean13", "ean8", "upca", "upce") and data.get("gtin") != text.zfill(13):
            problems.append(f"gtin {data.get('gtin')!r} for {symbology} {text!r}")
    elif symbology == "upca" and ("ean13", "0" + str(text)) in codes[device]:
        # An EAN-13 starting with 0 is the same bars as a UPC-A; zbar reads it as one and the
        # protocol reports symbologies as read, with the GTIN-13 alongside.
        if data.get("gtin") != "0" + text:
            problems.append(f"gtin {data.get('gtin')!r} for upca {text!r}")
    else:
        problems.append(f"{symbology} {text!r} is not a code of {device} in the manifest")
    return problems
