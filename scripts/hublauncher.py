"""Starts `storehub run` for the integration tests, the benchmarks and the conformance scripts, and stops it.

The one place that knows how a hub is launched and how it says it is ready. On stdout the hub prints its admin
token (only on a state directory's first run), the staff token (only the demo store, run without --config) and,
once it listens, `Status page: URL`, which marks it ready. Its stdout and stderr go to files, so that a hub never
blocks on a full pipe and its log can be read during the run and after a failure.

    from hublauncher import start_hub, write_config
    config = write_config(folder, {"hub": "bench", "listen": {"port": 0}}, devices=[descriptor])
    hub = start_hub(binary, state=folder / "state", logs=folder, config=config)
    ... hub.url, hub.port, hub.ws_url, hub.admin_token, hub.pid ...
    hub.stop()

The integration tests (Tests/Integration/conftest.py) and the scripts in scripts/bench put scripts/ on sys.path
to import it; the scripts in scripts/ find it beside them.
"""

import ctypes
import json
import os
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

READY_PREFIX = "Status page: "
ADMIN_PREFIX = "Admin token, shown only this once: "
STAFF_PREFIX = "Staff token for this run: "

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
TAIL_LINES = 60
_PR_SET_PDEATHSIG = 1


class HubNotReady(RuntimeError):
    """The hub exited, or printed no ready line in time; the message ends with the tail of its log."""


def tail(path, lines=TAIL_LINES):
    """The last `lines` lines of a log file, or a note that there is none."""
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


def preexec_die_with_parent():
    """For `preexec_fn`: the kernel sends the child SIGTERM when the thread that started it ends, so that a caller
    killed hard leaves no daemon listening."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def stop_process(process, timeout=STOP_TIMEOUT):
    """SIGTERM (a graceful stop), then SIGKILL when the process has not exited `timeout` seconds later.

    Returns the exit code of a process that ended by itself (also before this call), None for one that was killed.
    """
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)
        return None


def write_config(folder, settings, devices=()):
    """Writes FOLDER/hub.json (`settings`; `devices` is the folder beside it unless they say otherwise) and each
    device descriptor of `devices` as FOLDER/devices/<id>.json. Returns the config's path."""
    folder = Path(folder)
    (folder / "devices").mkdir(parents=True, exist_ok=True)
    for descriptor in devices:
        (folder / "devices" / f"{descriptor['id']}.json").write_text(json.dumps(descriptor))
    config = folder / "hub.json"
    config.write_text(json.dumps({"devices": "devices", **settings}))
    return config


def run_args(state, config=None, port=0, extra_args=()):
    """`run [--config CONFIG] --state STATE [--port PORT] EXTRA_ARGS`; port None leaves the port to the config."""
    args = ["run"]
    if config is not None:
        args += ["--config", str(config)]
    args += ["--state", str(state)]
    if port is not None:
        args += ["--port", str(port)]
    return args + [str(arg) for arg in extra_args]


class HubProcess:
    """One `storehub ARGS` process; its stdout and stderr go to LOGS/NAME.stdout and LOGS/NAME.stderr.

    `env` adds variables to the environment. `die_with_parent` ties the hub's life to the calling thread (see
    preexec_die_with_parent()): for a script that starts its hubs from the main thread. The URL and tokens are
    known once wait_ready() returned.
    """

    def __init__(self, binary, args, logs, name="hub", env=None, cwd=REPO, die_with_parent=False):
        # A relative path names the binary from the caller's folder, not from the hub's working directory.
        self.binary = os.path.abspath(binary) if os.sep in str(binary) else str(binary)
        self.args = [str(arg) for arg in args]
        self.state_dir = Path(self.args[self.args.index("--state") + 1]) if "--state" in self.args else None
        self.stdout_path = Path(logs) / f"{name}.stdout"
        self.stderr_path = Path(logs) / f"{name}.stderr"
        self.url = self.admin_token = self.staff_token = None
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                [self.binary, *self.args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                env={**os.environ, **env} if env else None,
                preexec_fn=preexec_die_with_parent if die_with_parent else None)

    @property
    def pid(self):
        return self.process.pid

    @property
    def port(self):
        return urllib.parse.urlsplit(self.url).port

    @property
    def ws_url(self):
        """The bus endpoint: ws:// (wss:// with TLS) beside the status page."""
        return "ws" + self.url[len("http"):] + "api/v1/bus"

    def alive(self):
        return self.process.poll() is None

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Waits for the ready line and reads the URL and tokens printed before it; returns self.

        Raises HubNotReady when the hub exits first, or prints no ready line within `timeout` seconds (it is
        killed then).
        """
        if not self.ready_or_exited(timeout):
            raise HubNotReady(
                f"storehub {' '.join(self.args)} exited with {self.process.returncode} before it was ready\n"
                f"{self.log_tail()}")
        return self

    def ready_or_exited(self, timeout=READY_TIMEOUT):
        """True once the hub printed its ready line, False when it exited without; a hub that does neither within
        `timeout` seconds is killed and HubNotReady raised."""
        deadline = time.monotonic() + timeout
        while True:
            # Whether it has exited is asked before its output is read: all it printed is in the file by then.
            exited = self.process.poll() is not None
            lines = self.stdout_path.read_text(errors="replace").split("\n")[:-1]
            if any(line.startswith(READY_PREFIX) for line in lines):
                self._read(lines)
                return True
            if exited:
                return False
            if time.monotonic() > deadline:
                self._sigkill()
                raise HubNotReady(
                    f"storehub {' '.join(self.args)} printed no {READY_PREFIX!r} line within {timeout:.0f} s\n"
                    f"{self.log_tail()}")
            time.sleep(0.05)

    def _read(self, lines):
        for line in lines:
            for prefix, attribute in ((ADMIN_PREFIX, "admin_token"), (STAFF_PREFIX, "staff_token"),
                                      (READY_PREFIX, "url")):
                if line.startswith(prefix):
                    setattr(self, attribute, line[len(prefix):].strip())

    def stop(self, timeout=STOP_TIMEOUT):
        """The graceful stop, see stop_process: the exit code, None when the hub had to be killed."""
        return stop_process(self.process, timeout)

    def kill(self, timeout=STOP_TIMEOUT):
        """SIGKILL, as a power cut would: nothing gets to flush or say goodbye."""
        self._sigkill(timeout)

    def _sigkill(self, timeout=STOP_TIMEOUT):
        # The launcher's own kill (a hub that never got ready) does not go through kill(), which a test's Hub extends.
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout)

    def stderr_text(self):
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def log_tail(self, lines=TAIL_LINES):
        return f"stdout:\n{tail(self.stdout_path, lines)}\nstderr:\n{tail(self.stderr_path, lines)}"


def start_hub(binary, state, logs, config=None, port=0, extra_args=(), name="hub", timeout=READY_TIMEOUT,
              **options):
    """Starts `storehub run` (see run_args) and waits until it is ready; `options` go to HubProcess."""
    return HubProcess(binary, run_args(state, config, port, extra_args), logs, name, **options).wait_ready(timeout)
