"""Runs the real storehub binary and talks to it the way clients do: WebSocket bus and REST over HTTP.

Every hub gets a fresh state directory under pytest's tmp_path and a port picked by the hub itself
(--port 0); the "Status page:" line on stdout says which one and marks the hub ready. Hubs are started and
stopped by scripts/hublauncher.py, as the benchmarks start theirs.
"""

import asyncio
import base64
import collections
import contextvars
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from hublauncher import HubNotReady, HubProcess, run_args  # noqa: E402

BINARY = Path(os.environ.get("STOREHUB_BIN") or REPO / ".build" / "debug" / "storehub").resolve()
MANIFEST = REPO / "Assets" / "demo" / "media" / "manifest.json"
DEMO_DEVICES = ("kiosk-pickup", "kiosk-aisle")
# The demo store's try-on mirror (it needs the portrait and face models fetched by scripts/install-deps).
DEMO_MIRRORS = ("mirror-beauty",)

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
TOKEN_PATTERN = re.compile(r"shb_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")

# Loopback traffic must never go through a proxy configured in the environment.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Bus clients opened inside run_async, closed when it ends: a failed assertion must not leave a
# connection behind that keeps the hub's graceful stop waiting for its close handshake.
_open_clients = contextvars.ContextVar("open_clients", default=None)


class Hub(HubProcess):
    """One storehub process of a test; stopping it checks that the graceful stop succeeds."""

    killed = False
    stopped = False

    @property
    def database(self):
        return self.state_dir / "hub.sqlite"

    def stop(self):
        """SIGTERM, then the graceful stop must end with exit code 0."""
        if self.stopped or self.killed:
            return
        self.stopped = True
        code = super().stop(STOP_TIMEOUT)
        if code is None:
            raise AssertionError(f"storehub did not exit within {STOP_TIMEOUT:.0f} s of SIGTERM")
        assert code == 0, f"storehub exited with {code} after SIGTERM, expected 0"

    def kill(self):
        """SIGKILL, as a power cut would: nothing gets to flush or say goodbye."""
        self.killed = True
        super().kill(STOP_TIMEOUT)

    def get(self, path, token=None):
        return http_get(self.url + path.lstrip("/"), token)

    def post(self, path, token=None):
        return http_get(self.url + path.lstrip("/"), token, method="POST")


class HubFactory:
    """Starts hubs for one test and stops them at its end."""

    def __init__(self, root):
        self.root = root
        self.hubs = []
        self.launched = []
        # The admin token is printed only on a state directory's first run; restarts reuse it.
        self.admin_tokens = {}

    def launch(self, args, name="run", env=None):
        """Starts `storehub ARGS` with cwd = repo root; stdout and stderr go to files in tmp_path.
        `env` adds variables to the environment. Returns the Hub without waiting for it to be ready."""
        if not BINARY.is_file():
            pytest.fail(f"no storehub binary at {BINARY}: run `swift build` or set STOREHUB_BIN")
        hub = Hub(BINARY, args, self.root, f"hub{len(self.launched)}-{name}", env=env)
        self.launched.append(hub)
        return hub

    def start(self, state_dir=None, extra_args=(), env=None):
        """Starts the demo hub and waits for its ready line."""
        state_dir = self._state_dir(state_dir)
        hub = self.launch(run_args(state_dir, extra_args=extra_args), env=env).wait_ready(READY_TIMEOUT)
        for label, token in (("admin", hub.admin_token), ("staff", hub.staff_token)):
            if token is not None:
                assert TOKEN_PATTERN.fullmatch(token), f"{label} token has an unexpected shape"
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", hub.url), f"unexpected status page line: {hub.url!r}"
        if hub.admin_token is not None:
            assert str(state_dir) not in self.admin_tokens, "admin token printed again on a restart"
        assert hub.staff_token is not None, "the demo hub printed no staff token"
        return self._keep(hub)

    def start_config(self, config, state_dir=None, name="run", extra_args=()):
        """Starts `storehub run --config CONFIG` (a hub with its own devices folder) and waits for its ready line.

        The returned Hub has the admin token printed on the state directory's first run and no staff token.
        """
        state_dir = self._state_dir(state_dir)
        return self._keep(self.launch(run_args(state_dir, config, extra_args=extra_args), name).wait_ready(
            READY_TIMEOUT))

    def _state_dir(self, state_dir):
        return Path(state_dir) if state_dir is not None else self.root / f"state{len(self.launched)}"

    def _keep(self, hub):
        """Remembers the admin token of a state directory's first run, gives it to later hubs on that directory,
        and stops the hub at the end of the test."""
        if hub.admin_token is not None:
            self.admin_tokens[str(hub.state_dir)] = hub.admin_token
        hub.admin_token = self.admin_tokens.get(str(hub.state_dir))
        self.hubs.append(hub)
        return hub

    def run_to_exit(self, args, timeout=20.0, name="run"):
        """Runs storehub expecting it to exit by itself. A hub that becomes ready is stopped at once.

        Returns (exit code, stdout, stderr, became_ready).
        """
        hub = self.launch(args, name)
        try:
            became_ready = hub.ready_or_exited(timeout)
        except HubNotReady:
            raise AssertionError(
                f"storehub {' '.join(args)} neither exited nor became ready within {timeout:.0f} s") from None
        if became_ready:
            hub.process.kill()
        code = hub.process.wait()
        return code, hub.stdout_path.read_text(errors="replace"), hub.stderr_text(), became_ready

    def close(self):
        problems = []
        for hub in self.hubs:
            try:
                hub.stop()
            except AssertionError as error:
                problems.append(f"{hub.url}: {error}")
        for hub in self.launched:
            if hub.alive():
                hub.process.kill()
                hub.process.wait()
        assert not problems, "; ".join(problems)

    def stderr_files(self):
        return [hub.stderr_path for hub in self.launched]


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
                                  "binarized", "rectified", "gridded"):
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
