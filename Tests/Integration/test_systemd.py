"""systemd's notify protocol, spoken to a real datagram socket the test binds as NOTIFY_SOCKET."""

import socket
import sqlite3
import threading
import time

import pytest


class NotifySocket:
    """A bound AF_UNIX datagram socket that records every message with its arrival time."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def _receive(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append((time.monotonic(), data.decode()))

    def assignments(self, key, since=0.0, until=float("inf")):
        """Values of KEY= lines in messages that arrived in [since, until)."""
        with self.lock:
            return [line.split("=", 1)[1] for at, message in self.messages if since <= at < until
                    for line in message.split("\n") if line.startswith(key + "=")]

    def wait_for(self, key, timeout, since=0.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            values = self.assignments(key, since)
            if values:
                return values
            time.sleep(0.05)
        with self.lock:
            seen = [message for _, message in self.messages][-5:]
        raise AssertionError(f"no {key}= within {timeout} s; last messages: {seen}")

    def close(self):
        self.running = False
        self.sock.close()


@pytest.fixture
def notify(tmp_path):
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


def test_ready_status_and_watchdog_pings_arrive(hub_factory, notify):
    hub = hub_factory.start(env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"})
    assert notify.wait_for("READY", 10) == ["1"]
    status = notify.wait_for("STATUS", 10)
    assert any("device" in line for line in status), status
    started = time.monotonic()
    time.sleep(3)
    pings = notify.assignments("WATCHDOG", since=started)
    # WATCHDOG_USEC=1 s: the hub pings twice a second while healthy.
    assert len(pings) >= 3 and set(pings) == {"1"}, f"{len(pings)} watchdog pings in 3 s"
    stopping_from = time.monotonic()
    hub.stop()
    assert notify.assignments("STOPPING", since=stopping_from) == ["1"]


def test_watchdog_pings_stop_while_the_log_cannot_commit_and_resume_after(hub_factory, notify):
    hub = hub_factory.start(env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"})
    notify.wait_for("WATCHDOG", 10)
    # Another process holds the database's write lock: the hub's writer cannot commit (busy for 5 s, then
    # an error), which is how a wedged disk looks to it too.
    blocker = sqlite3.connect(hub.database, isolation_level=None, timeout=10)
    blocker.execute("BEGIN EXCLUSIVE")
    locked_at = time.monotonic()
    time.sleep(9)
    # One ping may still come from a probe that finished just before the lock was taken.
    during = notify.assignments("WATCHDOG", since=locked_at + 2, until=time.monotonic())
    blocker.execute("ROLLBACK")
    released_at = time.monotonic()
    blocker.close()
    assert during == [], f"{len(during)} watchdog pings while the log could not commit"
    notify.wait_for("WATCHDOG", 15, since=released_at)
    assert hub.process.poll() is None, "the hub must keep running; restarting it is systemd's decision"

