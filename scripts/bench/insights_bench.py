#!/usr/bin/env python3
"""GET /api/v1/insights over an event log of 1,000,000 events (goal: at most 200 ms on this machine).

The script lets the hub create its database, fills it with a week of synthetic shop traffic (scans from four
devices, pickup answers, try-ons, device status) written the way the hub writes them (the events and the insight
rows beside them), starts the hub on it and times the endpoint over the whole week. As a baseline it times the
same scan counts computed the naive way in the same database: reading every scan event's JSON (json_extract
over the events table), which is what the insight tables avoid. Prints a table; exits 0 even when the goal is
missed (a goal is a measurement, not a test).

    .venv/bin/python scripts/bench/insights_bench.py [--binary .build/debug/storehub] [--events 1000000]
"""

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from hublauncher import start_hub, write_config  # noqa: E402

HOUR_MS = 3_600_000
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def start(binary, folder):
    config = write_config(folder, {"hub": "bench", "listen": {"port": 0},
                                   "log": {"maxEvents": 5_000_000, "maxBytes": 8 << 30}})
    return start_hub(binary, folder / "state", folder, config, timeout=120)


def fill(database, count, seed=17):
    rng = random.Random(seed)
    now_hour = int(time.time() * 1000) // HOUR_MS
    first_hour = now_hour - 7 * 24
    devices = ["kiosk-pickup", "kiosk-aisle", "scanner-till", "scanner-desk"]
    skus = [f"LS-{100 + n}" for n in range(40)]
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    seq = (connection.execute("SELECT max(seq) FROM events").fetchone()[0] or 0) + 1
    events, scans, pickups, answers, tries, visits = [], {}, [], [], [], []
    body = b'{"specversion":"1.0","id":"x","source":"storehub://bench/d","type":"storehub.scan","data":{}}'
    pending_pickups = []
    for n in range(count):
        hour = first_hour + n * (7 * 24) // count
        created = hour * HOUR_MS + rng.randrange(HOUR_MS)
        roll = rng.random()
        if roll < 0.70:
            device = rng.choice(devices)
            label = "pickup-order" if device == "kiosk-pickup" else ("product" if rng.random() < 0.8 else "")
            topic = f"scan.{device}"
            scans[(hour, device, label)] = scans.get((hour, device, label), 0) + 1
            if label == "pickup-order":
                pickups.append((seq, hour))
                pending_pickups.append(seq)
        elif roll < 0.80 and pending_pickups:
            topic = "display.kiosk-pickup"
            answered = pending_pickups.pop(rng.randrange(len(pending_pickups)))
            answers.append((1 if rng.random() < 0.85 else 0, answered))
        elif roll < 0.92:
            topic = "tryon.result.mirror-beauty"
            session = f"s{n // 6}"
            visits.append((session, hour, "mirror-beauty"))
            tries.append((seq, hour, rng.choice(skus[:12]) if rng.random() < 0.8 else rng.choice(skus),
                          rng.uniform(1, 30), 1 if rng.random() < 0.1 else 0))
        else:
            topic = "device.status." + rng.choice(devices)
        events.append((seq, topic, created, body))
        seq += 1
        if len(events) >= 100_000:
            connection.executemany("INSERT INTO events(seq, topic, created_ms, body) VALUES(?,?,?,?)", events)
            events.clear()
    connection.executemany("INSERT INTO events(seq, topic, created_ms, body) VALUES(?,?,?,?)", events)
    connection.executemany("INSERT INTO insight_scans(hour, device, label, count) VALUES(?,?,?,?)",
                           [(h, d, l, c) for (h, d, l), c in scans.items()])
    connection.executemany("INSERT INTO insight_pickups(scan_seq, hour, answer) VALUES(?,?,NULL)", pickups)
    connection.executemany("UPDATE insight_pickups SET answer = ? WHERE scan_seq = ? AND answer IS NULL", answers)
    connection.executemany("INSERT OR IGNORE INTO insight_visits(session, hour, device) VALUES(?,?,?)", visits)
    connection.executemany("INSERT INTO insight_tries(seq, hour, sku, dwell, picture) VALUES(?,?,?,?,?)", tries)
    connection.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'", (seq - 1,))
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return first_hour, now_hour


def naive_scan_counts(database, first_hour, now_hour):
    """The baseline: scans per hour, device and class read from every scan event's JSON."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    started = time.perf_counter()
    rows = connection.execute(
        "SELECT created_ms / 3600000, topic, json_extract(CAST(body AS TEXT), '$.data.class'), count(*) "
        "FROM events WHERE topic GLOB 'scan.*' AND created_ms BETWEEN ? AND ? GROUP BY 1, 2, 3",
        (first_hour * HOUR_MS, (now_hour + 1) * HOUR_MS)).fetchall()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, len(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=str(REPO / ".build" / "debug" / "storehub"))
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="insights-bench-", dir=REPO / ".cache" if (REPO / ".cache").is_dir() else None))
    try:
        hub = start(args.binary, folder)
        admin = hub.admin_token
        hub.stop(60)
        database = folder / "state" / "hub.sqlite"
        started = time.perf_counter()
        first_hour, now_hour = fill(database, args.events)
        print(f"filled {args.events:,} events in {time.perf_counter() - started:.1f} s")
        hub = start(args.binary, folder)
        url = hub.url
        query = f"api/v1/insights?from={time.strftime('%Y-%m-%dT%H:00:00Z', time.gmtime(first_hour * 3600))}" \
                f"&to={time.strftime('%Y-%m-%dT%H:00:00Z', time.gmtime((now_hour + 1) * 3600))}"
        timings, body = [], None
        for _ in range(args.rounds):
            request = urllib.request.Request(url + query, headers={"Authorization": f"Bearer {admin}"})
            started = time.perf_counter()
            with _http.open(request, timeout=60) as response:
                body = json.loads(response.read())
            timings.append(time.perf_counter() - started)
        hub.stop(60)
        naive = [naive_scan_counts(database, first_hour, now_hour)[0] for _ in range(3)]
        hours = len(body["hours"])
        scans = sum(sum(c.values()) for h in body["hours"] for c in h["scans"].values())
        print(f"insights over {hours} hours: {scans:,} scans, {len(body['shades'])} shades")
        print(f"GET /api/v1/insights (one week, {args.events:,} events): median {statistics.median(timings) * 1000:.1f} ms,"
              f" max {max(timings) * 1000:.1f} ms over {args.rounds} requests (goal <= 200 ms)")
        print(f"baseline, scans per hour from the events' JSON (sqlite3, same database): median "
              f"{statistics.median(naive) * 1000:.0f} ms; ratio {statistics.median(naive) / statistics.median(timings):.0f}x")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
