"""GET /metrics, read by a real Prometheus text parser (prometheus_client)."""

import asyncio
import time

from prometheus_client.parser import text_string_to_metric_families

from conftest import DEMO_DEVICES, http_get, open_bus, run_async


def scrape(hub, token):
    status, body = http_get(hub.url + "metrics", token)
    assert status == 200, f"/metrics answered {status}: {body}"
    assert isinstance(body, str), "/metrics must be text, not JSON"
    return {family.name: family for family in text_string_to_metric_families(body)}


def samples(family, name=None, **labels):
    return [s for s in family.samples
            if (name is None or s.name == name) and all(s.labels.get(k) == v for k, v in labels.items())]


def test_metrics_need_a_token(shared_hub):
    status, _ = http_get(shared_hub.url + "metrics")
    assert status == 401


def test_device_counters_scans_and_latency_histograms_parse_and_add_up(shared_hub):
    deadline = time.monotonic() + 20
    while True:
        families = scrape(shared_hub, shared_hub.staff_token)
        scans = {s.labels["device"]: s.value for s in families["storehub_device_scans"].samples}
        delivered = {s.labels["device"]: s.value for s in families["storehub_device_frames_delivered"].samples}
        # Frame counters are refreshed once a second, scans as they are committed.
        if all(scans.get(d, 0) > 0 and delivered.get(d, 0) > 0 for d in DEMO_DEVICES) \
                or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert all(scans.get(d, 0) > 0 for d in DEMO_DEVICES), f"scans per device: {scans}"
    for device in DEMO_DEVICES:
        states = {s.labels["state"]: s.value for s in samples(families["storehub_device_state"], device=device)}
        assert sum(states.values()) == 1 and states["online"] == 1, f"{device} states: {states}"
        delivered = samples(families["storehub_device_frames_delivered"], device=device)[0].value
        processed = samples(families["storehub_device_frames_processed"], device=device)[0].value
        assert delivered > 0 and 0 < processed <= delivered, f"{device}: delivered {delivered}, processed {processed}"
        latency = families["storehub_device_scan_latency_seconds"]
        buckets = samples(latency, "storehub_device_scan_latency_seconds_bucket", device=device)
        counts = [b.value for b in buckets]
        assert counts == sorted(counts), f"{device}: buckets are not cumulative: {counts}"
        assert buckets[-1].labels["le"] == "+Inf"
        count = samples(latency, "storehub_device_scan_latency_seconds_count", device=device)[0].value
        assert count == counts[-1] >= scans[device] > 0, f"{device}: {count} latencies for {scans[device]} scans"


def test_log_bus_and_process_figures(shared_hub):
    async def scenario():
        client = await open_bus(shared_hub, shared_hub.admin_token)
        await client.send(op="subscribe", id="d", topic="scan.>", durable="metrics-consumer", window=1)
        message = await client.until(lambda m: m["op"] == "event", 20, "a durable event")
        acked = message["event"]["sequence"]
        await client.send(op="ack", durable="metrics-consumer", sequence=acked)
        deadline = time.monotonic() + 10
        while True:
            families = scrape(shared_hub, shared_hub.staff_token)
            if samples(families["storehub_bus_consumer_lag_events"], consumer="metrics-consumer") \
                    or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        await client.close()
        return families, acked

    families, acked = run_async(scenario())
    assert families["storehub_bus_connections"].samples[0].value >= 1
    lag = samples(families["storehub_bus_consumer_lag_events"], consumer="metrics-consumer")
    assert lag, "the acknowledging consumer is missing from storehub_bus_consumer_lag_events"
    last = families["storehub_log_last_sequence"].samples[0].value
    # Both figures come from one scrape, but the log may commit between reading them: the lag is at least
    # what the newest sequence says and at most a few events more.
    assert last - acked <= lag[0].value <= last - acked + 50, f"lag {lag[0].value}, last {last}, acked {acked}"
    assert families["storehub_log_size_bytes"].samples[0].value > 4096
    commits = families["storehub_log_commits"].samples[0].value
    durations = samples(families["storehub_log_commit_duration_seconds"], "storehub_log_commit_duration_seconds_count")
    assert durations[0].value == commits > 0
    rss = families["process_resident_memory_bytes"].samples[0].value
    assert 1e6 < rss < 2e9, f"resident memory {rss} bytes"
    assert families["storehub_build_info"].samples[0].labels["version"]
