"""Cross-site WebSocket hijacking: a browser page from another site must not use the bus with a shop
assistant's token; the hub's own status page and configured origins may."""

import asyncio
import json

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import run_async


async def first_messages(hub, token, origin):
    """Connects as a browser from `origin` with the token in the header, subscribes, and returns what came back
    and the close code (None while open)."""
    seen = []
    async with connect(hub.ws_url, origin=origin, additional_headers={"Authorization": f"Bearer {token}"},
                       proxy=None, open_timeout=10, close_timeout=5) as ws:
        try:
            await ws.send(json.dumps({"op": "subscribe", "id": "s", "topic": "scan.>"}))
        except ConnectionClosed:
            pass  # a refused connection may be closed before this; what it was told is still read below
        try:
            async with asyncio.timeout(10):
                while True:
                    message = json.loads(await ws.recv())
                    seen.append(message)
                    if message["op"] in ("event", "error"):
                        if message["op"] == "event":
                            return seen, None
        except ConnectionClosed as closed:
            return seen, closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            return seen, None


def test_a_page_from_another_site_is_refused_with_4403_before_any_event(shared_hub):
    seen, code = run_async(first_messages(shared_hub, shared_hub.staff_token, "http://evil.example"))
    assert code == 4403, f"close code {code}, messages {seen}"
    assert not any(m["op"] == "event" for m in seen)
    error = next(m for m in seen if m["op"] == "error")
    assert error["code"] == "forbidden" and "listen.allowedOrigins" in error["message"]
    assert "evil.example" in shared_hub.stderr_text()


def test_the_hubs_own_pages_may_use_the_bus(shared_hub):
    own = shared_hub.url.rstrip("/")
    seen, code = run_async(first_messages(shared_hub, shared_hub.staff_token, own))
    assert code is None and any(m["op"] == "event" for m in seen), seen


def test_a_configured_origin_may_use_the_bus(hub_factory, tmp_path):
    from conftest import REPO
    config = json.loads((REPO / "Devices/demo/hub.json").read_text())
    config["devices"] = str(REPO / "Devices/demo/devices")
    config["statusPage"] = str(REPO / "Assets/status")
    config["shades"] = str(REPO / "Assets/shades.json")
    config["screens"] = str(REPO / "Assets/screens")
    config["models"] = str(REPO / ".cache/models")
    config["listen"]["allowedOrigins"] = ["https://kiosk.example"]
    path = tmp_path / "hub.json"
    path.write_text(json.dumps(config))
    hub = hub_factory.start_config(path)
    seen, code = run_async(first_messages(hub, hub.admin_token, "https://kiosk.example"))
    assert code is None and any(m["op"] == "event" for m in seen), seen
    seen, code = run_async(first_messages(hub, hub.admin_token, "https://other.example"))
    assert code == 4403


def test_an_origin_that_is_not_a_web_origin_is_a_config_error(hub_factory, tmp_path):
    from conftest import REPO
    config = json.loads((REPO / "Devices/demo/hub.json").read_text())
    config["devices"] = str(REPO / "Devices/demo/devices")
    config["listen"]["allowedOrigins"] = ["kiosk.example"]
    path = tmp_path / "hub.json"
    path.write_text(json.dumps(config))
    code, _, err, ready = hub_factory.run_to_exit(["run", "--config", str(path), "--port", "0"])
    assert code == 78 and not ready
    assert "listen.allowedOrigins" in err and "https://kiosk.example" in err


def test_a_websocket_library_that_sends_its_own_ws_url_as_origin_is_a_program_not_a_page(shared_hub):
    seen, code = run_async(first_messages(shared_hub, shared_hub.staff_token, "ws://127.0.0.1"))
    assert code is None and any(m["op"] == "event" for m in seen), seen
