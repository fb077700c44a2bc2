"""Real MQTT brokers for the uplink tests and benchmark: Mosquitto and a 3-node NATS cluster with JetStream and
its MQTT listener, each started on loopback from a config written here, plus a paho-mqtt checking subscriber."""

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=15.0, process=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            text = Path(log).read_text(errors="replace") if log else ""
            raise AssertionError(f"broker exited with {process.returncode} before listening on {port}:\n{text[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Mosquitto:
    """One mosquitto on loopback with persistence, so a persistent subscriber's queue survives a restart."""

    def __init__(self, root, tls=None, extra=()):
        """`extra`: more lines for mosquitto.conf (limits the broker enforces)."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = self.root / "mosquitto.log"
        self.process = None
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            # Started as root, mosquitto would switch to its own user, which cannot write our temp folder.
            f"user {getpass.getuser()}",
            "persistence true",
            f"persistence_location {self.root}/",
            "max_queued_messages 0",
            "max_inflight_messages 0",
            "log_dest stderr",
        ]
        if tls:
            lines += [f"cafile {tls['ca']}", f"certfile {tls['cert']}", f"keyfile {tls['key']}"]
        lines += list(extra)
        (self.root / "mosquitto.conf").write_text("\n".join(lines) + "\n")

    @property
    def url(self):
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self):
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [binary, "-c", str(self.root / "mosquitto.conf")], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        wait_for_port(self.port, process=self.process, log=self.log)

    def stop(self, sig=signal.SIGTERM):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(10)
        self.process = None


class NatsCluster:
    """Three nats-server nodes routed into one cluster, JetStream on, an MQTT listener on each."""

    def __init__(self, root, size=3):
        self.root = Path(root)
        self.nodes = []
        cluster_ports = [free_port() for _ in range(size)]
        for index in range(size):
            name = f"n{index + 1}"
            node = {
                "name": name, "client": free_port(), "mqtt": free_port(), "cluster": cluster_ports[index],
                "dir": self.root / name, "log": self.root / f"{name}.log", "process": None,
            }
            node["dir"].mkdir(parents=True, exist_ok=True)
            routes = ", ".join(f'"nats-route://127.0.0.1:{p}"' for i, p in enumerate(cluster_ports) if i != index)
            node["config"] = self.root / f"{name}.conf"
            node["config"].write_text(
                f'server_name: "{name}"\n'
                f"listen: 127.0.0.1:{node['client']}\n"
                f'jetstream {{ store_dir: "{node["dir"]}" }}\n'
                f'cluster {{ name: "storehub-it", listen: 127.0.0.1:{node["cluster"]}, routes: [{routes}] }}\n'
                f"mqtt {{ listen: 127.0.0.1:{node['mqtt']}, stream_replicas: {size} }}\n")
            self.nodes.append(node)

    def url(self, index):
        return f"mqtt://127.0.0.1:{self.nodes[index]['mqtt']}"

    def start(self, index=None):
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        for node in self.nodes if index is None else [self.nodes[index]]:
            with open(node["log"], "ab") as log:
                node["process"] = subprocess.Popen(
                    [binary, "-c", str(node["config"])], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        for node in self.nodes if index is None else [self.nodes[index]]:
            wait_for_port(node["mqtt"], 30, node["process"], node["log"])

    def kill(self, index):
        process = self.nodes[index]["process"]
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)
        self.nodes[index]["process"] = None

    def stop(self):
        for node in self.nodes:
            process = node["process"]
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            node["process"] = None

    def logs(self):
        return "\n".join(f"--- {n['name']}\n{n['log'].read_text(errors='replace')[-3000:]}" for n in self.nodes)


class Checker:
    """A persistent (clean session false) QoS 1 subscriber that records every message with its arrival order."""

    def __init__(self, port, topic, client_id):
        self.messages = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311)
        self.client.reconnect_delay_set(min_delay=0.1, max_delay=1)
        self.topic = topic
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *args: self.connected.clear()
        self.client.on_message = self._on_message
        self.port = port

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not reason_code.is_failure:
            client.subscribe(self.topic, qos=1)
            self.connected.set()

    def _on_message(self, client, userdata, message):
        with self.lock:
            self.messages.append((message.topic, bytes(message.payload), message.retain))

    def start(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client.connect("127.0.0.1", self.port, keepalive=10)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.client.loop_start()
        assert self.connected.wait(timeout), f"checking subscriber did not connect to port {self.port}"
        # The SUBACK is in once a message published after it can come back; paho tracks it for us.
        time.sleep(0.3)

    def stop(self):
        self.client.loop_stop()
        self.client.disconnect()

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def events(self, prefix):
        """Decoded event payloads under `prefix`, in arrival order (duplicates kept)."""
        return [(topic, json.loads(payload)) for topic, payload, _ in self.snapshot()
                if topic.startswith(prefix) and "/hub/" not in topic]

    def wait_for_sequences(self, prefix, sequences, timeout):
        """Waits until every sequence in `sequences` arrived under `prefix`; returns the events seen."""
        wanted = set(sequences)
        deadline = time.monotonic() + timeout
        while True:
            events = self.events(prefix)
            missing = wanted - {event["sequence"] for _, event in events}
            if not missing:
                return events
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(missing)} of {len(wanted)} events never reached the broker within {timeout} s; "
                    f"first missing {sorted(missing)[:10]}")
            time.sleep(0.1)


def make_ca(root, name):
    """A CA and a server certificate for `localhost` signed by it (openssl CLI), as PEM files."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (root / f"{name}-{part}" for part in
                                  ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", f"/CN=StoreHub test CA {name}")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost")
    extensions = root / f"{name}-ext.cnf"
    extensions.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(cert),
        "-days", "2", "-extfile", str(extensions))
    os.chmod(key, 0o644)
    return {"ca": ca, "cert": cert, "key": key}
