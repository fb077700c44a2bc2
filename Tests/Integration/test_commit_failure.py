"""What happens to a device's scans when the event log cannot commit (docs/architecture.md, Limits): the scan is
not accepted, the device is reported offline with the log's error, and once the log commits again the device
comes back and its next scans are accepted. The failure is real: another process holds SQLite's write lock past
the hub's busy timeout, as a stuck backup or a full disk would stop commits."""

import sqlite3
import time

from conftest import fetch_events
from test_serial_scanner import PtyScanner, start, wait_device


def test_a_scan_whose_commit_fails_is_not_accepted_and_the_device_comes_back_after(hub_factory, tmp_path):
    scanner = PtyScanner(tmp_path)
    try:
        hub = start(hub_factory, tmp_path, scanner)
        blocker = sqlite3.connect(hub.database, timeout=30, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            scanner.write(b"LOST-WHILE-LOCKED\r")
            offline = wait_device(hub, lambda d: d["state"] == "offline" and "locked" in (d.get("reason") or ""),
                                  "offline with the log's error")
            assert "database is locked" in offline["reason"], offline
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        wait_device(hub, lambda d: d["state"] == "online", "online again once the log commits")
        scanner.write(b"ACCEPTED-AFTER\r")
        texts = []
        for _ in range(100):
            texts = [e["data"].get("text") for e in fetch_events(hub, hub.admin_token, topic="scan.>")]
            if "ACCEPTED-AFTER" in texts:
                break
            time.sleep(0.1)
        assert "ACCEPTED-AFTER" in texts, texts
        assert "LOST-WHILE-LOCKED" not in texts, "a scan whose commit failed was reported accepted"
    finally:
        scanner.close()
