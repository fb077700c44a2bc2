"""The hub launcher that the tests, benchmarks and conformance scripts share (scripts/hublauncher.py): what it
reports when a hub does not come up, and how it stops one that will not stop."""

import time

import pytest

from conftest import BINARY
from hublauncher import HubNotReady, HubProcess, start_hub, write_config


def test_a_hub_that_exits_before_it_is_ready_fails_with_its_exit_code_and_the_end_of_its_log(tmp_path):
    config = write_config(tmp_path, {"hub": "it-launcher", "listen": {"port": 0}, "noSuchSetting": 1})
    with pytest.raises(HubNotReady) as failure:
        start_hub(BINARY, tmp_path / "state", tmp_path, config, timeout=30)
    message = str(failure.value)
    assert "exited with 78 before it was ready" in message, message
    assert "noSuchSetting" in message, f"the hub's own error is not in the message:\n{message}"


def test_a_process_that_prints_no_ready_line_is_killed_at_the_timeout_and_its_output_reported(tmp_path):
    stand_in = HubProcess("/bin/sh", ["-c", "echo starting; echo 'still loading' >&2; sleep 60"], tmp_path, "slow")
    started = time.monotonic()
    with pytest.raises(HubNotReady) as failure:
        stand_in.wait_ready(1.0)
    assert time.monotonic() - started < 10, "the timeout was not kept"
    assert stand_in.process.returncode == -9, f"not killed: {stand_in.process.returncode}"
    message = str(failure.value)
    assert "printed no 'Status page: ' line within 1 s" in message, message
    assert "starting" in message and "still loading" in message, f"stdout and stderr are not both reported:\n{message}"


def test_stop_kills_a_process_that_ignores_sigterm_and_says_so(tmp_path):
    stubborn = HubProcess("/bin/sh", ["-c", "trap '' TERM; echo ready; sleep 60"], tmp_path, "stubborn")
    deadline = time.monotonic() + 10
    while "ready" not in stubborn.stdout_path.read_text():  # the trap is set before this line is printed
        assert time.monotonic() < deadline, "the stand-in did not start"
        time.sleep(0.05)
    assert stubborn.stop(0.5) is None, "a process that had to be killed was reported as stopped by itself"
    assert stubborn.process.returncode == -9


def test_a_ready_hub_reports_its_url_port_and_first_run_admin_token_and_stops_with_exit_code_0(tmp_path):
    config = write_config(tmp_path, {"hub": "it-launcher", "listen": {"port": 0}})
    hub = start_hub(BINARY, tmp_path / "state", tmp_path, config, timeout=30)
    try:
        assert hub.url == f"http://127.0.0.1:{hub.port}/", hub.url
        assert hub.ws_url == f"ws://127.0.0.1:{hub.port}/api/v1/bus"
        assert hub.admin_token and hub.admin_token.startswith("shb_"), hub.admin_token
        assert hub.staff_token is None, "a hub with its own config printed a demo staff token"
    finally:
        code = hub.stop()
    assert code == 0, f"graceful stop ended with {code}"
