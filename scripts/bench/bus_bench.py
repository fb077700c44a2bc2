#!/usr/bin/env python3
"""StoreHub's `make bench`: event log throughput, bus latency and fan-out, daemon memory, and a Mosquitto
baseline measured in the same run.

Run with the project venv from the repo root:
    .venv/bin/python scripts/bench/bus_bench.py [--binary .build/release/storehub] [--json PATH]
See scripts/bench/README.md for what the figures mean.
"""

import argparse
import array
import asyncio
import json
import multiprocessing
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from websockets.asyncio.client import connect as ws_connect

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from hublauncher import preexec_die_with_parent, start_hub, stop_process, tail, write_config  # noqa: E402

HOST = "127.0.0.1"
SUBSCRIBERS = 10  # the latency test and the first fan-out; --wide-subscribers for the second fan-out
PAYLOAD_BYTES = 256
MOSQUITTO = "/usr/sbin/mosquitto"
# The per-token publish rate and byte budget are lifted: the benchmark measures how much the hub accepts (Mosquitto
# has neither). Once the hub accepted more than 1 MiB/s of events, the default byte budget refused publishes.
HUB_BUS = {"liveBuffer": 4096, "maxInFlight": 1024, "maxMessageBytes": 65536, "publishRatePerToken": 10_000_000,
           "publishBurst": 10_000_000, "publishBytesPerSecond": 1_000_000_000}

GOAL_EVENTS_PER_SECOND = 20_000
GOAL_P99_MS = 5.0
GOAL_IDLE_RSS_MB = 40.0

SIDES = ("storehub", "mosquitto")
MQTT_TRANSPORTS = {"websockets": "MQTT 3.1.1 over WebSocket (Mosquitto's websockets listener)",
                   "tcp": "MQTT 3.1.1 over plain TCP"}
LABELS = {"storehub": "StoreHub", "mosquitto": "Mosquitto"}
EVENT_PREFIX = b'{"op":"event"'
SENT_RE = re.compile(rb'"sent_ns":(\d+)')
PHASE_RE = re.compile(rb'"ph":(\d+)')
MQTT_HEADER = 12  # MQTT payload: phase (u32) and send time (u64), big endian, then padding


def now_ns():
    # CLOCK_MONOTONIC: comparable between this process and the subscriber processes.
    return time.perf_counter_ns()


def percentile(values, p):
    return float(np.percentile(np.asarray(values, dtype=np.float64), p)) if len(values) else float("nan")


def median(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_memory_mb(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024.0
    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan"))


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        # The command name may contain spaces; the fields after it are fixed.
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def proc_write_calls(pid):
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("syscw:"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------------------------------------------------------
# 1. Event log alone


def bench_log(binary, directory, events, producers, payload):
    directory.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(binary), "bench-log", "--events", str(events), "--producers", str(producers), "--payload",
         str(payload), "--directory", str(directory)],
        capture_output=True, text=True, timeout=180, preexec_fn=preexec_die_with_parent)
    if done.returncode != 0:
        raise RuntimeError(f"storehub bench-log exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def fsync_probe(directory, count=200):
    """Latency of a 256-byte append plus fsync on the benchmark's disk: the floor under every commit."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    samples = []
    try:
        block = b"a" * PAYLOAD_BYTES
        for _ in range(count):
            began = now_ns()
            os.write(fd, block)
            os.fsync(fd)
            samples.append(now_ns() - began)
    finally:
        os.close(fd)
        path.unlink()
    return {"fsyncP50ms": percentile(samples, 50) / 1e6, "fsyncP99ms": percentile(samples, 99) / 1e6}


# ---------------------------------------------------------------------------------------------------------------
# Daemons


class Daemon:
    proc = None
    name = "daemon"
    stderr_path = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, 10)


class Hub(Daemon):
    name = "storehub"

    def __init__(self, binary, workdir):
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.token = None

    def start(self, timeout=30):
        config = write_config(self.workdir / "hub", {"hub": "bench", "listen": {"host": HOST, "port": self.port},
                                                     "bus": HUB_BUS})
        hub = start_hub(self.binary, self.workdir / "state", self.workdir, config, self.port, name="storehub",
                        timeout=timeout, cwd=self.workdir, die_with_parent=True)
        self.proc, self.stderr_path, self.port, self.token = hub.process, hub.stderr_path, hub.port, hub.admin_token
        if self.token is None:
            raise RuntimeError("the hub started without printing an admin token (state dir not fresh?)")


class Mosquitto(Daemon):
    name = "mosquitto"

    def __init__(self, workdir, transport):
        self.workdir = workdir
        self.transport = transport
        self.tcp_port = free_port()
        self.ws_port = free_port()
        # The port the benchmark's clients use.
        self.port = self.ws_port if transport == "websockets" else self.tcp_port
        self.stderr_path = workdir / "mosquitto.stderr"
        persistence = workdir / "mosquitto-data"
        persistence.mkdir(parents=True)
        # The settings the figures depend on; printed with the results. Unlimited inflight and queue so the
        # broker never drops; TCP_NODELAY as StoreHub's server (SwiftNIO) has it.
        # Mosquitto 2.0.11 exits with "Unable to start any listening sockets" when its only listener is a
        # websockets one (it counts only its own TCP sockets, not those libwebsockets opens), so the plain MQTT
        # listener stays even when the clients use WebSockets. libwebsockets ignores the listener's address and
        # listens on every interface; nothing but this benchmark connects to it, and only over loopback.
        self.settings = [
            f"listener {self.tcp_port} {HOST}",
            "allow_anonymous true",
            f"listener {self.ws_port} {HOST}",
            "protocol websockets",
            "allow_anonymous true",
            "persistence true",
            "max_inflight_messages 0",
            "max_queued_messages 0",
            "set_tcp_nodelay true",
        ]
        lines = self.settings + [f"persistence_location {persistence}/", "log_dest stderr"]
        if os.getuid() == 0:
            # As root Mosquitto would switch to the user 'mosquitto', who cannot write our temp dir.
            lines.append(f"user {pwd.getpwuid(0).pw_name}")
        self.config = workdir / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def start(self, timeout=10):
        with open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.config)], cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=stderr,
                preexec_fn=preexec_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                break
            try:
                for port in (self.tcp_port, self.ws_port):
                    socket.create_connection((HOST, port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start; its stderr ends with:\n{tail(self.stderr_path)}")


def check_alive(*daemons):
    for daemon in daemons:
        if not daemon.alive():
            raise RuntimeError(f"{daemon.name} exited with {daemon.proc.returncode}; its stderr ends with:\n"
                               f"{tail(daemon.stderr_path)}")


# ---------------------------------------------------------------------------------------------------------------
# MQTT client plumbing


class BufferedPaho(mqtt.Client):
    """paho-mqtt with buffered socket I/O; the MQTT protocol handling stays paho's.

    Stock paho reads each packet with three or more recv() calls and sends each PUBACK with its own send().
    At 10,000 deliveries/s that made this Python client, not the broker, the bottleneck (about 100 us per
    delivery, latencies of hundreds of ms). Here one recv() feeds many packets and the acks of one read go
    out in one send(), as the asyncio transports under the WebSocket client do anyway.

    Over WebSockets the same holds: paho's own frame wrapper reads every frame header one byte per recv() and
    masks outgoing bytes in a Python loop, so after paho's handshake this class reads and writes the TCP socket
    under the wrapper itself: one recv() yields many frames, and the bytes sent in one go are one masked binary
    frame (MQTT packets may span WebSocket frames).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rx = b""
        self._rx_pos = 0
        self._tx = bytearray()
        self._ws_in = bytearray()  # raw bytes not yet cut into frames
        self._ws_out = bytearray()  # framed bytes not yet sent
        self.on_blocked_write = None

    def _raw(self):
        # paho's _WebsocketWrapper keeps the TCP socket in _socket; a plain TCP connection is the socket itself.
        return getattr(self._sock, "_socket", None) if self._transport == "websockets" else None

    def _sock_recv(self, bufsize):
        if self._rx_pos >= len(self._rx):
            if self._sock is None:
                raise ConnectionError("socket closed")
            raw = self._raw()
            if raw is None:
                self._rx = self._sock.recv(1 << 16)  # BlockingIOError when nothing is there, as paho expects
            else:
                self._rx = self._ws_payload(raw)
            self._rx_pos = 0
            if not self._rx:
                return b""
        start = self._rx_pos
        self._rx_pos = min(start + bufsize, len(self._rx))
        return self._rx[start:self._rx_pos]

    def _ws_payload(self, raw):
        """The payload bytes of every complete frame read so far; b"" when the server closed."""
        data = raw.recv(1 << 16)  # BlockingIOError when nothing is there
        if not data:
            return b""
        self._ws_in += data
        payload = bytearray()
        buf, pos = self._ws_in, 0
        while len(buf) - pos >= 2:
            opcode, length, head = buf[pos] & 0x0F, buf[pos + 1] & 0x7F, 2
            if length == 126:
                if len(buf) - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if len(buf) - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            if len(buf) - pos < head + length:
                break
            body = bytes(buf[pos + head:pos + head + length])  # a server's frames are not masked
            pos += head + length
            if opcode in (0x0, 0x2):
                payload += body
            elif opcode == 0x9:
                self._ws_out += self._ws_frame(0xA, body)
            elif opcode == 0x8:
                return b""
        del buf[:pos]
        if not payload:
            raise BlockingIOError
        return bytes(payload)

    @staticmethod
    def _ws_frame(opcode, body):
        mask = os.urandom(4)
        n = len(body)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        # XOR with the repeated mask as one big integer: no per-byte Python loop.
        key = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(body, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big") if n else b""
        return head + mask + masked

    def _sock_send(self, buf):
        self._tx += buf
        return len(buf)

    def _flush(self):
        raw = self._raw()
        if raw is not None:
            if self._tx:
                self._ws_out += self._ws_frame(0x2, bytes(self._tx))
                self._tx.clear()
            while self._ws_out:
                try:
                    sent = raw.send(self._ws_out)
                except BlockingIOError:
                    return False
                del self._ws_out[:sent]
            return True
        while self._tx and self._sock is not None:
            try:
                sent = self._sock.send(self._tx)
            except BlockingIOError:
                return False
            del self._tx[:sent]
        return True

    def loop_read(self, max_packets=1):
        rc = super().loop_read(max_packets)
        while rc == mqtt.MQTT_ERR_SUCCESS and self._sock is not None and self._rx_pos < len(self._rx):
            rc = super().loop_read(max_packets)
        self.loop_write()
        return rc

    def loop_write(self):
        rc = super().loop_write()
        if not self._flush() and self.on_blocked_write is not None:
            self.on_blocked_write()
        return rc

    def _sock_close(self):
        try:
            self._flush()
        except OSError:
            pass
        super()._sock_close()


class MqttConnection:
    """A paho client driven by the asyncio loop instead of its own thread."""

    def __init__(self, loop, client_id, transport):
        self.loop = loop
        self.sock = None
        self.ready = loop.create_future()
        client = self.client = BufferedPaho(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                            clean_session=True, transport=transport)
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        client.on_blocked_write = lambda: self.sock is not None and loop.add_writer(self.sock, client.loop_write)
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        client.on_socket_register_write = lambda c, u, sock: loop.add_writer(sock, c.loop_write)
        client.on_socket_unregister_write = lambda c, u, sock: loop.remove_writer(sock)

    def _socket_open(self, client, userdata, sock):
        # SwiftNIO (StoreHub) and asyncio (the WebSocket clients) disable Nagle; do the same here.
        # Over WebSockets paho hands out its frame wrapper; the TCP socket is inside it.
        getattr(sock, "_socket", sock).setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.loop.add_reader(sock, client.loop_read)

    def _socket_close(self, client, userdata, sock):
        self.loop.remove_reader(sock)
        self.loop.remove_writer(sock)
        self.sock = None

    async def connect(self, port):
        def on_connect(client, userdata, flags, reason, properties):
            if not self.ready.done():
                self.ready.set_result(reason)

        self.client.on_connect = on_connect
        self.client.connect(HOST, port, keepalive=300)
        reason = await asyncio.wait_for(self.ready, 5)
        if reason.is_failure:
            raise RuntimeError(f"MQTT connect refused: {reason}")

    async def subscribe(self, topic):
        done = self.loop.create_future()
        self.client.on_subscribe = lambda c, u, mid, codes, props: done.done() or done.set_result(codes)
        self.client.subscribe(topic, qos=1)
        codes = await asyncio.wait_for(done, 5)
        if any(code.is_failure for code in codes):
            raise RuntimeError(f"MQTT subscribe refused: {codes}")

    def close(self):
        try:
            self.client.disconnect()
        except Exception:
            pass
        if self.sock is not None:
            self.loop.remove_reader(self.sock)
            self.loop.remove_writer(self.sock)
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


async def mqtt_keepalive(connections):
    # paho's keepalive and retry bookkeeping, normally done by its own loop thread.
    while True:
        await asyncio.sleep(1)
        for connection in connections:
            connection.client.loop_misc()


async def open_hub_socket(url, token):
    ws = await ws_connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}, compression=None, proxy=None,
        max_size=1 << 20, max_queue=1024, ping_interval=None, open_timeout=10, close_timeout=2)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
    if hello.get("op") != "hello" or not hello.get("authenticated"):
        raise RuntimeError(f"unexpected greeting from the hub: {hello.get('op')}")
    return ws


# ---------------------------------------------------------------------------------------------------------------
# Subscribers: they run in worker processes (same layout for both servers) so one busy Python process does not
# set the figures; each worker holds its share of the StoreHub and of the Mosquitto subscribers.


class Tally:
    """What one subscriber saw in the current phase."""

    def __init__(self):
        self.reset(0, False)

    def reset(self, phase, timed):
        self.phase = phase
        self.timed = timed
        self.count = 0
        self.latencies = array.array("q")
        self.last_ns = 0
        self.dropped = 0

    def hub_message(self, raw):
        arrived = now_ns()
        if raw.startswith(EVENT_PREFIX):
            phase = PHASE_RE.search(raw)
            if phase is None or int(phase.group(1)) != self.phase:
                return
            self.count += 1
            self.last_ns = arrived
            if self.timed:
                self.latencies.append(arrived - int(SENT_RE.search(raw).group(1)))
        else:
            message = json.loads(raw)
            if message.get("op") == "dropped":
                self.dropped += int(message.get("count", 0))

    def mqtt_message(self, client, userdata, message):
        arrived = now_ns()
        payload = message.payload
        if int.from_bytes(payload[0:4], "big") != self.phase:
            return
        self.count += 1
        self.last_ns = arrived
        if self.timed:
            self.latencies.append(arrived - int.from_bytes(payload[4:12], "big"))


def subscriber_worker(pipe, index, count, hub_url, token, mqtt_endpoint):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and tells us to stop
    try:
        asyncio.run(_subscriber_worker(pipe, index, count, hub_url, token, mqtt_endpoint))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass


async def _subscriber_worker(pipe, index, count, hub_url, token, mqtt_endpoint):
    mqtt_transport, mqtt_port = mqtt_endpoint
    loop = asyncio.get_running_loop()
    tallies = {side: [Tally() for _ in range(count)] for side in SIDES}
    sockets, tasks, connections = [], [], []
    stop = loop.create_future()
    try:
        for tally in tallies["storehub"]:
            ws = await open_hub_socket(hub_url, token)
            sockets.append(ws)
            await ws.send(json.dumps({"op": "subscribe", "id": "s", "topic": "bench.>"}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if reply.get("op") != "subscribed":
                raise RuntimeError(f"subscribe failed: {reply}")
            tasks.append(asyncio.create_task(_read_hub(ws, tally)))
        for number, tally in enumerate(tallies["mosquitto"]):
            connection = MqttConnection(loop, f"bench-sub-{index}-{number}", mqtt_transport)
            await connection.connect(mqtt_port)
            connection.client.on_message = tally.mqtt_message
            await connection.subscribe("bench/#")
            connections.append(connection)
        tasks.append(asyncio.create_task(mqtt_keepalive(connections)))
    except Exception as error:
        pipe.send(("error", f"{type(error).__name__}: {error}"))
        return

    def on_command():
        try:
            while pipe.poll():
                command, side, *rest = pipe.recv()
                group = tallies.get(side, [])
                if command == "reset":
                    for tally in group:
                        tally.reset(*rest)
                    pipe.send(("ok",))
                elif command == "status":
                    pipe.send((sum(t.count for t in group), max(t.last_ns for t in group)))
                elif command == "collect":
                    latencies = array.array("q")
                    for tally in group:
                        latencies.extend(tally.latencies)
                    pipe.send((sum(t.count for t in group), max(t.last_ns for t in group),
                               sum(t.dropped for t in group), latencies.tobytes()))
                elif command == "stop":
                    stop.done() or stop.set_result(None)
                    return
        except (EOFError, OSError):
            stop.done() or stop.set_result(None)

    loop.add_reader(pipe.fileno(), on_command)
    pipe.send(("ready",))
    try:
        await stop
    finally:
        loop.remove_reader(pipe.fileno())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for connection in connections:
            connection.close()
        for ws in sockets:
            try:
                await asyncio.wait_for(ws.close(), 2)
            except Exception:
                pass


async def _read_hub(ws, tally):
    while True:
        tally.hub_message(await ws.recv(decode=False))


class SubscriberPool:
    """The worker processes, seen from the benchmark."""

    def __init__(self, processes, subscribers, hub_url, token, mqtt_endpoint):
        context = multiprocessing.get_context("spawn")
        self.subscribers = subscribers
        shares = [subscribers // processes + (1 if i < subscribers % processes else 0) for i in range(processes)]
        self.workers = []
        for index, share in enumerate(s for s in shares if s):
            parent, child = context.Pipe()
            process = context.Process(target=subscriber_worker, daemon=True,
                                      args=(child, index, share, hub_url, token, mqtt_endpoint))
            process.start()
            child.close()
            self.workers.append((process, parent))

    def pids(self):
        return [process.pid for process, _ in self.workers]

    def wait_ready(self, timeout=60):
        for process, pipe in self.workers:
            if not pipe.poll(timeout):
                raise RuntimeError("a subscriber process did not start in time")
            reply = pipe.recv()
            if reply[0] != "ready":
                raise RuntimeError(f"a subscriber process failed: {reply[1]}")

    def ask(self, *command, timeout=30):
        for _, pipe in self.workers:
            pipe.send(command)
        replies = []
        for process, pipe in self.workers:
            if not pipe.poll(timeout):
                raise RuntimeError(f"subscriber process {process.pid} did not answer '{command[0]}'")
            replies.append(pipe.recv())
        return replies

    def stop(self):
        for process, pipe in self.workers:
            try:
                pipe.send(("stop", None))
            except OSError:
                pass
        for process, pipe in self.workers:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join(5)
            pipe.close()


# ---------------------------------------------------------------------------------------------------------------
# Publishers, in the main process. Both keep the send time per reference and the accept latency.


class Publisher:
    def __init__(self):
        self.sent = {}
        self.window = None
        self.room = asyncio.Event()
        self.reset()

    def reset(self):
        self.sent.clear()
        self.accept_ns = []
        self.accepted = 0
        self.errors = 0
        self.last_accept_ns = 0
        self.window = None
        self.room.set()

    def outstanding(self):
        return len(self.sent)

    def _accepted(self, key):
        arrived = now_ns()
        sent = self.sent.pop(key, None)
        if sent is not None:
            self.accept_ns.append(arrived - sent)
            self.accepted += 1
            self.last_accept_ns = arrived
        if self.window is not None and len(self.sent) < self.window:
            self.room.set()


class HubPublisher(Publisher):
    def __init__(self, url, token):
        super().__init__()
        self.url, self.token = url, token

    async def open(self):
        self.ws = await open_hub_socket(self.url, self.token)
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        while True:
            message = json.loads(await self.ws.recv(decode=False))
            if message.get("op") == "published":
                self._accepted(message.get("ref"))
            elif message.get("op") == "error":
                self.errors += 1
                self.sent.pop(message.get("ref"), None)

    async def publish(self, ref, phase):
        sent = now_ns()
        head = f'{{"op":"publish","topic":"bench.load","type":"bench.load","ref":{ref},"data":'
        data = f'{{"ph":{phase},"sent_ns":{sent},"pad":"'
        self.sent[ref] = sent
        # The data object is exactly PAYLOAD_BYTES of JSON.
        await self.ws.send(head + data + "a" * (PAYLOAD_BYTES - len(data) - 2) + '"}}')

    async def close(self):
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)
        try:
            await asyncio.wait_for(self.ws.close(), 2)
        except Exception:
            pass


class MqttPublisher(Publisher):
    def __init__(self, port, transport):
        super().__init__()
        self.port = port
        self.transport = transport
        self.padding = b"a" * (PAYLOAD_BYTES - MQTT_HEADER)

    async def open(self):
        self.connection = MqttConnection(asyncio.get_running_loop(), "bench-pub", self.transport)
        await self.connection.connect(self.port)
        self.connection.client.on_publish = lambda c, u, mid, reason, props: self._accepted(mid)
        self.keepalive = asyncio.create_task(mqtt_keepalive([self.connection]))

    async def publish(self, ref, phase):
        sent = now_ns()
        client = self.connection.client
        info = client.publish("bench/load", phase.to_bytes(4, "big") + sent.to_bytes(8, "big") + self.padding, qos=1)
        self.sent[info.mid] = sent
        client.loop_write()  # now, not on the next loop turn: the WebSocket client sends at once too

    async def close(self):
        self.keepalive.cancel()
        await asyncio.gather(self.keepalive, return_exceptions=True)
        self.connection.close()


# ---------------------------------------------------------------------------------------------------------------
# Phases


class Meter:
    """Server CPU, server write syscalls and the benchmark's own CPU over one phase."""

    def __init__(self, server_pid, client_pids):
        self.server_pid, self.client_pids = server_pid, client_pids
        self.cpu = proc_cpu_seconds(server_pid)
        self.writes = proc_write_calls(server_pid)
        self.clients = [proc_cpu_seconds(pid) for pid in client_pids]
        self.own = time.process_time()
        self.start = now_ns()

    def read(self, deliveries):
        wall = max(1e-9, (now_ns() - self.start) / 1e9)
        cpu = proc_cpu_seconds(self.server_pid) - self.cpu
        clients = [proc_cpu_seconds(pid) - before for pid, before in zip(self.client_pids, self.clients)]
        clients.append(time.process_time() - self.own)
        return {
            "serverCpuPercent": 100 * cpu / wall,
            "serverCpuUsPerDelivery": 1e6 * cpu / max(1, deliveries),
            "serverWriteCallsPerDelivery": (proc_write_calls(self.server_pid) - self.writes) / max(1, deliveries),
            "clientCpuPercent": 100 * sum(clients) / wall,
            "busiestClientCpuPercent": 100 * max(clients) / wall,
        }


class Bench:
    def __init__(self, pool, publishers, server_pids):
        self.pool, self.publishers, self.server_pids = pool, publishers, server_pids

    async def wait_deliveries(self, side, expected, quiet_s=3.0, limit_s=90.0):
        """Until every subscriber has its events, nothing arrived for quiet_s, or limit_s passed."""
        start = time.monotonic()
        last_total, last_change = -1, start
        while True:
            total = sum(count for count, _ in self.pool.ask("status", side))
            now = time.monotonic()
            if total >= expected and self.publishers[side].outstanding() == 0:
                break
            if total != last_total:
                last_total, last_change = total, now
            if now - last_change > quiet_s or now - start > limit_s:
                break
            await asyncio.sleep(0.05)
        counts, lasts, dropped, latencies = zip(*self.pool.ask("collect", side))
        samples = np.concatenate([np.frombuffer(chunk, dtype=np.int64) for chunk in latencies])
        return sum(counts), max(lasts), sum(dropped), samples

    def begin(self, side, phase, timed):
        self.pool.ask("reset", side, phase, timed)
        self.publishers[side].reset()
        return Meter(self.server_pids[side], self.pool.pids())

    async def latency(self, side, phase, rate, seconds):
        pub = self.publishers[side]
        meter = self.begin(side, phase, timed=True)
        count = int(rate * seconds)
        interval = 1e9 / rate
        start = now_ns()
        for i in range(count):
            # Absolute send times: a late wake-up is caught up, so the mean rate holds.
            ahead = start + int(i * interval) - now_ns()
            if ahead > 0:
                await asyncio.sleep(ahead / 1e9)
            await pub.publish(i, phase)
        subscribers = self.pool.subscribers
        total, _, dropped, latencies = await self.wait_deliveries(side, count * subscribers)
        return {
            "events": count,
            "deliveries": total,
            "expectedDeliveries": count * subscribers,
            "dropped": dropped,
            "deliverP50ms": percentile(latencies, 50) / 1e6,
            "deliverP99ms": percentile(latencies, 99) / 1e6,
            "deliverMaxMs": float(latencies.max()) / 1e6 if len(latencies) else float("nan"),
            "acceptP50ms": percentile(pub.accept_ns, 50) / 1e6,
            "acceptP99ms": percentile(pub.accept_ns, 99) / 1e6,
            "accepted": pub.accepted,
            "publishErrors": pub.errors,
            **meter.read(total),
        }

    async def fanout(self, side, phase, events, window):
        pub = self.publishers[side]
        meter = self.begin(side, phase, timed=False)
        pub.window = window
        start = meter.start
        for i in range(events):
            while pub.outstanding() >= window:
                pub.room.clear()
                try:
                    await asyncio.wait_for(pub.room.wait(), 10)
                except asyncio.TimeoutError:
                    raise RuntimeError(f"{LABELS[side]}: no publish acknowledged for 10 s during fan-out")
            await pub.publish(i, phase)
        subscribers = self.pool.subscribers
        total, last, dropped, _ = await self.wait_deliveries(side, events * subscribers)
        elapsed = max(1e-9, (last - start) / 1e9)
        return {
            "events": events,
            "window": window,
            "deliveries": total,
            "subscribers": subscribers,
            "expectedDeliveries": events * subscribers,
            "dropped": dropped,
            "seconds": elapsed,
            "deliveriesPerSecond": total / elapsed,
            "acceptedPerSecond": pub.accepted / max(1e-9, (pub.last_accept_ns - start) / 1e9),
            "accepted": pub.accepted,
            "publishErrors": pub.errors,
            **meter.read(total),
        }


async def bus_rounds(args, hub, broker, pool, kinds=("latency", "fanout")):
    """Runs `kinds` for both servers, args.rounds times. "fanoutWide" is the fan-out with the wide pool's
    subscribers (args.wide_subscribers) and args.wide_events events."""
    hub_url = f"ws://{HOST}:{hub.port}/api/v1/bus"
    publishers = {"storehub": HubPublisher(hub_url, hub.token),
                  "mosquitto": MqttPublisher(broker.port, broker.transport)}
    bench = Bench(pool, publishers, {"storehub": hub.proc.pid, "mosquitto": broker.proc.pid})
    results = {side: {kind: [] for kind in kinds} for side in SIDES}
    try:
        for publisher in publishers.values():
            await publisher.open()
        phase = 1
        # Warm-up, not reported: first deliveries, allocators, page cache.
        for side in SIDES:
            await bench.fanout(side, phase, max(1, 20_000 // pool.subscribers), args.window)
            phase += 1
        for round_index in range(args.rounds):
            # Alternate who goes first so drift on a shared machine does not favour one side.
            order = SIDES if round_index % 2 == 0 else tuple(reversed(SIDES))
            for kind in kinds:
                for side in order:
                    check_alive(hub, broker)
                    what = {"latency": f"latency, {args.rate}/s for {args.seconds:g} s",
                            "fanout": f"fan-out to {pool.subscribers}, {args.fanout_events:,} events",
                            "fanoutWide": f"fan-out to {pool.subscribers}, {args.wide_events:,} events"}[kind]
                    print(f"  round {round_index + 1}/{args.rounds}: {LABELS[side]} {what}", file=sys.stderr,
                          flush=True)
                    if kind == "latency":
                        result = await bench.latency(side, phase, args.rate, args.seconds)
                    elif kind == "fanout":
                        result = await bench.fanout(side, phase, args.fanout_events, args.window)
                    else:
                        result = await bench.fanout(side, phase, args.wide_events, args.window)
                    results[side][kind].append(result)
                    phase += 1
    finally:
        for publisher in publishers.values():
            try:
                await publisher.close()
            except Exception:
                pass
    return results


# ---------------------------------------------------------------------------------------------------------------
# Report

# (phase, figure, label, which direction is better)
COMPARED = [
    ("latency", "deliverP50ms", "publish->deliver p50 ms @%(rate)d/s", "lower"),
    ("latency", "deliverP99ms", "publish->deliver p99 ms @%(rate)d/s", "lower"),
    ("latency", "acceptP50ms", "publish->accept p50 ms (a)", "lower"),
    ("latency", "acceptP99ms", "publish->accept p99 ms (a)", "lower"),
    ("latency", "serverCpuPercent", "server CPU %% @%(rate)d/s (b)", "lower"),
    ("fanout", "deliveriesPerSecond", "fan-out deliveries/s (c)", "higher"),
    ("fanout", "acceptedPerSecond", "fan-out publishes accepted/s (a)", "higher"),
    ("fanout", "serverCpuUsPerDelivery", "server CPU us per delivery (b)", "lower"),
    ("fanout", "serverWriteCallsPerDelivery", "server write syscalls per delivery", "lower"),
    ("fanoutWide", "deliveriesPerSecond", "fan-out to %(wide)d: deliveries/s (c)", "higher"),
    ("fanoutWide", "acceptedPerSecond", "fan-out to %(wide)d: accepted/s (a)", "higher"),
    ("fanoutWide", "serverCpuUsPerDelivery", "fan-out to %(wide)d: server CPU us/delivery", "lower"),
]


def summarize(rounds, key):
    values = [r[key] for r in rounds]
    return {"median": median(values), "min": min(values), "max": max(values), "rounds": values}


def build_report(args, log_rounds, memory, bus, broker_settings, load):
    log = {key: summarize(log_rounds, key) for key in log_rounds[0]}
    figures = {side: {kind: {key: summarize(rounds, key) for key in rounds[0]} for kind, rounds in bus[side].items()}
               for side in SIDES}
    sh, mq = figures["storehub"], figures["mosquitto"]
    comparison = []
    for kind, key, label, better in COMPARED:
        a, b = sh[kind][key]["median"], mq[kind][key]["median"]
        comparison.append({"phase": kind, "figure": key,
                           "label": label % {"rate": args.rate, "wide": args.wide_subscribers}, "storehub": a,
                           "mosquitto": b, "ratio": a / b if b else float("nan"), "better": better})
    p99 = sh["latency"]["deliverP99ms"]["median"]
    rate = log["eventsPerSecond"]["median"]
    goals = [
        {"goal": f"accepted events/s >= {GOAL_EVENTS_PER_SECOND:,} (event log)", "value": rate,
         "pass": rate >= GOAL_EVENTS_PER_SECOND},
        {"goal": f"publish->deliver p99 <= {GOAL_P99_MS:g} ms at {args.rate:,}/s", "value": p99,
         "pass": p99 <= GOAL_P99_MS},
        {"goal": f"idle RSS <= {GOAL_IDLE_RSS_MB:g} MB", "value": memory["storehub"]["idleRssMB"],
         "pass": memory["storehub"]["idleRssMB"] <= GOAL_IDLE_RSS_MB},
    ]
    # Against Mosquitto in the same run: the ratio StoreHub / Mosquitto, better than 1 in the right direction.
    for kind, key, label in (("latency", "deliverP99ms", f"publish->deliver p99 at {args.rate:,}/s"),
                             ("fanout", "deliveriesPerSecond", f"fan-out deliveries/s to {SUBSCRIBERS}"),
                             ("fanoutWide", "deliveriesPerSecond",
                              f"fan-out deliveries/s to {args.wide_subscribers}")):
        ratio = sh[kind][key]["median"] / mq[kind][key]["median"] if mq[kind][key]["median"] else float("nan")
        lower = key.endswith("ms")
        goals.append({"goal": f"{label}: SH/MQ {'<' if lower else '>'} 1", "value": ratio,
                      "pass": ratio < 1 if lower else ratio > 1})
    return {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                    "loadAverageBefore": load},
        "parameters": {
            "rounds": args.rounds, "subscribers": SUBSCRIBERS, "subscriberProcesses": args.client_procs,
            "payloadBytes": PAYLOAD_BYTES, "rate": args.rate, "latencySeconds": args.seconds,
            "fanoutEvents": args.fanout_events, "window": args.window, "logEvents": args.log_events,
            "wideSubscribers": args.wide_subscribers, "wideEvents": args.wide_events,
            "mqttTransport": args.mqtt_transport,
            "logProducers": args.log_producers, "hubBus": HUB_BUS,
        },
        "log": log,
        "bus": figures,
        "comparison": comparison,
        "memory": memory,
        "mosquitto": {"version": "2.0.11", "transport": MQTT_TRANSPORTS[args.mqtt_transport], "qos": 1,
                      "settings": broker_settings},
        "goals": goals,
    }


def fmt(value, digits=2):
    if value is None or value != value:
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def spread(summary, digits=2):
    if summary["min"] == summary["max"]:
        return fmt(summary["median"], digits)
    return f"{fmt(summary['median'], digits)} [{fmt(summary['min'], digits)}..{fmt(summary['max'], digits)}]"


def verdict(ok):
    return "PASS" if ok else "MISS"


def finite(value):
    """JSON has no NaN: missing figures become null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def render(report):
    p, log, goals = report["parameters"], report["log"], report["goals"]
    sh, mq = report["bus"]["storehub"], report["bus"]["mosquitto"]
    machine = report["machine"]
    L, V = 38, 26
    rounds = f"{p['rounds']} round{'s' if p['rounds'] != 1 else ''}"
    out = [f"StoreHub bus benchmark: {rounds}, median [min..max]; {machine['cpus']} CPUs, "
           f"Linux {machine['kernel']}; load average before the run {machine['loadAverageBefore']:.2f}", ""]

    def row(label, value, note=""):
        out.append(f"   {label:<{L}}{value:>{V}}   {note}".rstrip())

    out.append(f"1. Event log alone: storehub bench-log, {int(log['events']['median']):,} events, "
               f"{p['logProducers']} producers, {p['payloadBytes']} B, synchronous=FULL group commit")
    row("accepted events/s", spread(log["eventsPerSecond"]),
        f"goal >= {GOAL_EVENTS_PER_SECOND:,}  {verdict(goals[0]['pass'])}")
    row("commit p50 / p99 ms", f"{fmt(log['commitP50ms']['median'])} / {fmt(log['commitP99ms']['median'])}")
    row("append until accepted p50 / p99 ms",
        f"{fmt(log['appendP50ms']['median'])} / {fmt(log['appendP99ms']['median'])}")
    row("events per commit", fmt(log["eventsPerCommit"]["median"], 1))
    row("disk: 256 B append+fsync p50 / p99 ms",
        f"{fmt(log['fsyncP50ms']['median'])} / {fmt(log['fsyncP99ms']['median'])}", "same disk, from Python")
    out.append("")
    out.append(f"2./3. Bus end to end: {p['subscribers']} live subscribers ({p['subscriberProcesses']} client "
               f"processes), 1 publisher, {p['payloadBytes']} B payload.")
    out.append(f"      Latency: paced {p['rate']:,}/s for {p['latencySeconds']:g} s. Fan-out: {p['fanoutEvents']:,} "
               f"events as fast as possible, at most {p['window']:,} unacknowledged;")
    out.append(f"      then fan-out to {p['wideSubscribers']} subscribers, {p['wideEvents']:,} events.")
    ws = p["mqttTransport"] == "websockets"
    out.append("      StoreHub over WebSocket. Mosquitto: " + MQTT_TRANSPORTS[p["mqttTransport"]] + ", QoS 1.")
    mq_label = "Mosquitto (MQTT/WS)" if ws else "Mosquitto (MQTT/TCP)"
    out.append(f"   {'':<{L}}{'StoreHub (WebSocket)':>{V}}{mq_label:>{V}}{'SH/MQ':>8}  better")
    for item in report["comparison"]:
        a, b = sh[item["phase"]][item["figure"]], mq[item["phase"]][item["figure"]]
        out.append(f"   {item['label']:<{L}}{spread(a):>{V}}{spread(b):>{V}}{fmt(item['ratio']):>8}  {item['better']}")

    def both(label, cell):
        out.append(f"   {label:<{L}}{cell(sh):>{V}}{cell(mq):>{V}}")

    for kind in ("latency", "fanout", "fanoutWide"):
        both(f"delivered / expected ({ {'fanout': 'fan-out', 'fanoutWide': 'wide fan-out'}.get(kind, kind)})",
             lambda s, k=kind: f"{sum(s[k]['deliveries']['rounds']):,}/{sum(s[k]['expectedDeliveries']['rounds']):,}")
    dropped = sum(sum(sh[k]["dropped"]["rounds"]) for k in ("latency", "fanout", "fanoutWide"))
    out.append(f"   {'dropped (StoreHub dropped op)':<{L}}{dropped:>{V},}{'n/a':>{V}}")
    both("publish errors", lambda s: str(sum(sum(s[k]["publishErrors"]["rounds"])
                                             for k in ("latency", "fanout", "fanoutWide"))))
    both("busiest client process CPU % (c)", lambda s: fmt(s["fanout"]["busiestClientCpuPercent"]["median"], 0))
    both("  same, wide fan-out (c)", lambda s: fmt(s["fanoutWide"]["busiestClientCpuPercent"]["median"], 0))
    # Drift goes up and down; a figure that only worsens from round to round points at the server.
    both("deliver p50 ms, round by round", lambda s: " ".join(fmt(v) for v in s["latency"]["deliverP50ms"]["rounds"]))
    both(f"server CPU % @{p['rate']:,}/s, round by round",
         lambda s: " ".join(fmt(v, 0) for v in s["latency"]["serverCpuPercent"]["rounds"]))
    out.append(f"   latency goal: p99 {fmt(goals[1]['value'])} ms <= {GOAL_P99_MS:g} ms  {verdict(goals[1]['pass'])}")
    out.append("   SH/MQ below 1 is better for 'lower' rows, above 1 for 'higher' rows.")
    out.append("   (a) StoreHub answers 'published' after an fsync'd SQLite commit; Mosquitto's PUBACK waits for no "
               "disk (persistence")
    out.append("       true only writes a snapshot every autosave_interval). Not the same guarantee. Delivery waits for the")
    out.append("       disk on neither side: StoreHub's live subscribers get an event before its commit is on disk.")
    out.append("   (b) the server process alone, from /proc/PID (100 % = one core): does not depend on the Python "
               "clients.")
    busy = [LABELS[side] for side, s in (("storehub", sh), ("mosquitto", mq))
            if max(s[k]["busiestClientCpuPercent"]["median"] for k in ("fanout", "fanoutWide")) >= 90]
    verdict_c = f"here {' and '.join(busy)}, so read it as a lower bound." if busy else "not the case here."
    out.append("   (c) the clients are Python; a client process near 100 % CPU means that deliveries/s measures the "
               "client: " + verdict_c)
    out.append("")
    mem = report["memory"]
    out.append(f"4. Memory (VmRSS){'':<{L - 17}}{'StoreHub':>{V}}{'Mosquitto':>{V}}")
    for key, label, note in (
        ("idleRssMB", "idle, 3 s after start, no clients",
         f"goal <= {GOAL_IDLE_RSS_MB:g} MB  {verdict(goals[2]['pass'])}"),
        ("afterRssMB", "after the load tests, clients gone", ""),
        ("peakRssMB", "peak (VmHWM)", ""),
    ):
        out.append(f"   {label:<{L}}{fmt(mem['storehub'][key], 1) + ' MB':>{V}}"
                   f"{fmt(mem['mosquitto'][key], 1) + ' MB':>{V}}   {note}".rstrip())
    out.append("")
    out.append("5. Mosquitto 2.0.11 settings: " + "; ".join(report["mosquitto"]["settings"]))
    out.append("   clients: paho-mqtt 2.1.0 with buffered socket I/O (BufferedPaho), MQTT 3.1.1, QoS 1 publish and "
               "subscribe")
    out.append(f"   StoreHub: hub config bus {json.dumps(p['hubBus'])}, no devices; clients: websockets 15")
    out.append("")
    out.append("6. Goals")
    for goal in goals:
        out.append(f"   {verdict(goal['pass'])}  {goal['goal']:<50} measured {fmt(goal['value'])}")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, default=REPO / ".build/release/storehub")
    parser.add_argument("--json", type=Path, default=REPO / "test-artifacts/bench-bus.json")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=1000, help="paced publishes per second in the latency test")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each latency test")
    parser.add_argument("--fanout-events", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=1000, help="unacknowledged publishes during fan-out")
    parser.add_argument("--client-procs", type=int, default=2, help="processes the subscribers are spread over")
    parser.add_argument("--wide-subscribers", type=int, default=100, help="subscribers in the second fan-out")
    parser.add_argument("--wide-events", type=int, default=2000, help="events in the second fan-out")
    parser.add_argument("--mqtt-transport", choices=sorted(MQTT_TRANSPORTS), default="websockets",
                        help="how the Mosquitto clients connect")
    parser.add_argument("--log-events", type=int, default=50_000)
    parser.add_argument("--log-producers", type=int, default=64)
    args = parser.parse_args()
    args.binary = args.binary.resolve()  # the daemons run in a temp folder
    if not args.binary.exists():
        parser.error(f"{args.binary} not found; build it with: swift build -c release")
    if not Path(MOSQUITTO).exists():
        parser.error(f"{MOSQUITTO} not found (Debian package mosquitto)")
    if min(args.rounds, args.rate, args.fanout_events, args.window, args.client_procs, args.log_events,
           args.wide_subscribers, args.wide_events) < 1 \
            or args.seconds <= 0 or not 1 <= args.log_producers <= args.log_events:
        parser.error("counts, rates and durations must be positive")
    return args


def main():
    args = parse_args()
    # SIGTERM unwinds through the finally blocks like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    state_root = REPO / ".state" / "bench"
    state_root.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=state_root))
    hub = broker = pool = None
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    try:
        print(f"event log: {args.rounds} x bench-log ...", file=sys.stderr, flush=True)
        log_rounds = []
        for _ in range(args.rounds):
            figures = bench_log(args.binary, workdir / "log", args.log_events, args.log_producers, PAYLOAD_BYTES)
            figures.update(fsync_probe(workdir / "log"))
            log_rounds.append(figures)

        print("starting storehub and mosquitto ...", file=sys.stderr, flush=True)
        hub = Hub(args.binary, workdir)
        hub.start()
        broker = Mosquitto(workdir, args.mqtt_transport)
        broker.start()
        time.sleep(3)
        check_alive(hub, broker)
        idle = {d.name: proc_memory_mb(d.proc.pid)[0] for d in (hub, broker)}

        hub_url = f"ws://{HOST}:{hub.port}/api/v1/bus"
        endpoint = (broker.transport, broker.port)
        pool = SubscriberPool(args.client_procs, SUBSCRIBERS, hub_url, hub.token, endpoint)
        pool.wait_ready()
        bus = asyncio.run(bus_rounds(args, hub, broker, pool))
        pool.stop()
        pool = SubscriberPool(args.client_procs, args.wide_subscribers, hub_url, hub.token, endpoint)
        pool.wait_ready()
        wide = asyncio.run(bus_rounds(args, hub, broker, pool, kinds=("fanoutWide",)))
        for side in SIDES:
            bus[side].update(wide[side])
        pool.stop()
        pool = None
        time.sleep(1)
        check_alive(hub, broker)
        memory = {}
        for daemon in (hub, broker):
            rss, peak = proc_memory_mb(daemon.proc.pid)
            memory[daemon.name] = {"idleRssMB": idle[daemon.name], "afterRssMB": rss, "peakRssMB": peak}

        report = build_report(args, log_rounds, memory, bus, broker.settings, load_before)
        report["durationSeconds"] = round(time.monotonic() - started, 1)
        print(render(report))
        print(f"\n(run took {report['durationSeconds']:.0f} s)")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(finite(report), indent=2, allow_nan=False) + "\n")
        try:
            shown = args.json.resolve().relative_to(REPO)
        except ValueError:
            shown = args.json
        print(f"figures written to {shown}")
    finally:
        if pool is not None:
            pool.stop()
        for daemon in (broker, hub):
            if daemon is not None:
                daemon.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
