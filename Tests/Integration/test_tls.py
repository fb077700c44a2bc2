"""TLS on the listener (listen.tls): a self-signed certificate made on first run, verified by real TLS clients
(Python's ssl and the websockets client), plain HTTP refused on the TLS port, the same certificate after a restart."""

import asyncio
import hashlib
import json
import socket
import ssl
import urllib.error
import urllib.request

import pytest
from websockets.asyncio.client import connect

from hublauncher import READY_PREFIX


def write_config(root, tls, name="hub.json"):
    (root / "devices").mkdir(exist_ok=True)
    config = {"hub": "tls-test", "devices": "devices", "listen": {"host": "127.0.0.1", "tls": tls}}
    path = root / name
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def printed(hub, prefix):
    for line in hub.stdout_path.read_text().splitlines():
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    raise AssertionError(f"no {prefix!r} line on stdout:\n{hub.stdout_path.read_text()}")


def trusting(cert_path):
    """A client context that trusts only the hub's certificate and checks the host name, as a pinned client."""
    context = ssl.create_default_context(cafile=str(cert_path))
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def https_get(url, context, token=None):
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def fingerprint(cert_path):
    der = ssl.PEM_cert_to_DER_cert(cert_path.read_text())
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


@pytest.fixture
def tls_hub(hub_factory, tmp_path):
    config = write_config(tmp_path, {"enabled": True})
    state = tmp_path / "state"
    return hub_factory.start_config(config, state_dir=state), config, state


def test_first_run_makes_a_self_signed_certificate_and_logs_its_fingerprint(tls_hub):
    hub, _, state = tls_hub
    cert, key = state / "tls" / "hub-cert.pem", state / "tls" / "hub-key.pem"
    assert cert.is_file() and key.is_file(), f"no certificate in {state / 'tls'}"
    assert key.stat().st_mode & 0o077 == 0, f"the private key is readable by others: {oct(key.stat().st_mode)}"
    assert hub.url.startswith("https://127.0.0.1:"), f"status page line does not say https: {hub.url}"
    shown = printed(hub, "TLS certificate SHA-256 fingerprint: ")
    assert shown == fingerprint(cert), "the printed fingerprint is not the certificate's SHA-256"
    assert "PRIVATE KEY" not in hub.stdout_path.read_text() + hub.stderr_text()


def test_tls_client_verifies_the_generated_certificate_by_host_name(tls_hub):
    hub, _, state = tls_hub
    context = trusting(state / "tls" / "hub-cert.pem")
    for host in ("127.0.0.1", "localhost"):
        status, body = https_get(f"https://{host}:{hub.port}/healthz", context)
        assert status == 200 and body["status"] == "ok", f"GET https://{host}/healthz: {status} {body}"
    # Without trusting it, verification must fail: the certificate is really checked.
    with pytest.raises(urllib.error.URLError) as refused:
        https_get(f"https://127.0.0.1:{hub.port}/healthz", ssl.create_default_context())
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError), refused.value


def test_websocket_bus_over_tls_delivers_a_published_event(tls_hub):
    hub, _, state = tls_hub
    context = trusting(state / "tls" / "hub-cert.pem")

    async def scenario():
        url = f"wss://localhost:{hub.port}/api/v1/bus"
        headers = {"Authorization": f"Bearer {hub.admin_token}"}
        async with connect(url, ssl=context, additional_headers=headers, proxy=None, open_timeout=10) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert hello["op"] == "hello" and hello["authenticated"] is True, hello
            await ws.send(json.dumps({"op": "subscribe", "id": "s", "topic": "tls.>"}))
            await ws.send(json.dumps({"op": "publish", "topic": "tls.check", "type": "it.tls", "data": {"n": 1},
                                      "ref": "p1"}))
            async with asyncio.timeout(5):
                while True:
                    message = json.loads(await ws.recv())
                    if message["op"] == "event":
                        return message

    message = asyncio.run(scenario())
    assert message["event"]["subject"] == "tls.check" and message["event"]["data"] == {"n": 1}, message


def test_plain_http_on_the_tls_port_gets_no_http_answer(tls_hub):
    hub, _, _ = tls_hub
    with socket.create_connection(("127.0.0.1", hub.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert not received.startswith(b"HTTP/"), f"plain HTTP was answered on the TLS port: {received[:80]!r}"
    # The hub keeps serving TLS clients after that.
    status, _ = https_get(f"https://127.0.0.1:{hub.port}/healthz", trusting(hub.state_dir / "tls" / "hub-cert.pem"))
    assert status == 200


def test_restart_reuses_the_same_certificate(hub_factory, tls_hub):
    hub, config, state = tls_hub
    cert = state / "tls" / "hub-cert.pem"
    before = cert.read_bytes()
    first = printed(hub, "TLS certificate SHA-256 fingerprint: ")
    hub.stop()
    again = hub_factory.start_config(config, state_dir=state, name="restart")
    assert cert.read_bytes() == before, "the certificate changed on restart"
    assert printed(again, "TLS certificate SHA-256 fingerprint: ") == first
    assert printed(again, "TLS: ").startswith("using the certificate"), "a restart made a new certificate"
    status, _ = https_get(f"https://127.0.0.1:{again.port}/healthz", trusting(cert))
    assert status == 200


def test_configured_certificate_is_used_instead_of_a_generated_one(hub_factory, tls_hub, tmp_path):
    # The first hub's generated pair, copied elsewhere, stands in for a certificate the shop got from its own CA.
    hub, _, state = tls_hub
    hub.stop()
    own = tmp_path / "own"
    own.mkdir()
    (own / "cert.pem").write_bytes((state / "tls" / "hub-cert.pem").read_bytes())
    (own / "key.pem").write_bytes((state / "tls" / "hub-key.pem").read_bytes())
    config = write_config(tmp_path, {"certificateFile": "own/cert.pem", "keyFile": "own/key.pem"}, "own.json")
    other_state = tmp_path / "other-state"
    again = hub_factory.start_config(config, state_dir=other_state, name="own-cert")
    assert not (other_state / "tls").exists(), "a certificate was generated although one is configured"
    assert printed(again, "TLS certificate SHA-256 fingerprint: ") == fingerprint(own / "cert.pem")


@pytest.mark.parametrize("tls, problem", [
    ({"certificateFile": "missing.pem"}, "certificateFile and keyFile go together"),
    ({"certificateFile": "missing.pem", "keyFile": "missing-key.pem"}, "cannot read the TLS certificate"),
    ({"enabled": "yes"}, "listen.tls.enabled"),
])
def test_bad_tls_settings_stop_the_hub_with_a_clear_error(hub_factory, tmp_path, tls, problem):
    config = write_config(tmp_path, tls)
    code, stdout, stderr, ready = hub_factory.run_to_exit(
        ["run", "--config", str(config), "--state", str(tmp_path / "state"), "--port", "0"])
    assert not ready and code == 78, f"exit {code}, ready={ready}\n{stderr}"
    assert problem in stderr, f"expected {problem!r} in:\n{stderr}"
    assert READY_PREFIX not in stdout


def test_tls_versions_below_1_2_are_refused_by_the_hub(tls_hub):
    hub, _, state = tls_hub
    for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
            context.minimum_version = version
            context.maximum_version = version
        except (ValueError, ssl.SSLError) as error:
            pytest.skip(f"this Python's OpenSSL cannot offer {version.name}: {error}")
        with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as sock:
            with pytest.raises(ssl.SSLError) as refused:
                context.wrap_socket(sock, server_hostname="localhost")
        reason = str(refused.value)
        if "NO_PROTOCOLS_AVAILABLE" in reason.upper() or "no protocols available" in reason:
            pytest.skip(f"this Python's OpenSSL refuses to offer {version.name} itself: {reason}")
        assert "PROTOCOL_VERSION" in reason.upper() or "UNSUPPORTED_PROTOCOL" in reason.upper(), \
            f"{version.name} failed, but not because the hub refused the version: {reason}"
    # TLS 1.2 itself is served.
    context = trusting(state / "tls" / "hub-cert.pem")
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    status, body = https_get(f"https://localhost:{hub.port}/healthz", context)
    assert status == 200 and body["status"] == "ok"
