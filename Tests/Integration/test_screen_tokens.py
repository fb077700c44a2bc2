"""Customer screens through the real binary, without a browser: pairing over REST (codes, approval, one-time token,
expiry of unknown pairings, rate limit), the `screen` role's rules one by one with their negative, revoking a screen
(REST and its open bus connection), the screen pages and their files, snapshots (own only, share link and QR, delete,
the share page) and mirror commands checked at publish."""

import asyncio
import json
import subprocess
import time
import urllib.request

import pytest

from conftest import BINARY, REPO, fetch_events, open_bus, run_async

MIRROR = "mirror-beauty"
KIOSK = "kiosk-pickup"
PORTRAIT = REPO / ".cache" / "faces" / "grace_hopper.jpg"
FIXTURE = REPO / "Tests" / "Fixtures" / "faces" / "grace_hopper.json"
LANGUAGES = ["en", "zh-Hans", "ja", "fr", "de"]

_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))

def request(hub, method, path, token=None, body=None, timeout=10.0):
    """Any method with an optional JSON body; returns (status, JSON or text, headers)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(hub.url + path.lstrip("/"), method=method, data=data)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with _http.open(req, timeout=timeout) as response:
            status, raw, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, headers = error.code, error.read(), error.headers
    try:
        return status, json.loads(raw), headers
    except ValueError:
        return status, raw, headers


def write_store(tmp_path, share=None, mirror_extra=None):
    """A hub config with the demo mirror (a still portrait and its reference mesh) and a pickup kiosk, screens on."""
    devices = tmp_path / "devices"
    devices.mkdir(exist_ok=True)
    mirror = {
        "id": MIRROR, "kind": "mirror", "name": "Beauty corner try-on mirror",
        "camera": {"type": "replay", "path": str(PORTRAIT), "fps": 8, "hold": 2},
        "mirror": {"landmarks": str(FIXTURE), "faceGuide": [165, 125, 200, 215], "streamFps": 8,
                   **(mirror_extra or {})},
        "screen": {"languages": LANGUAGES}}
    (devices / f"{MIRROR}.json").write_text(json.dumps(mirror))
    (devices / f"{KIOSK}.json").write_text(json.dumps({
        "id": KIOSK, "kind": "kiosk", "name": "Pickup counter kiosk",
        "camera": {"type": "replay", "path": str(REPO / "Assets/demo/media/kiosk-pickup"), "fps": 2, "hold": 4},
        "decoder": {"symbologies": ["qr"]}, "screen": {"languages": ["fr", "en"]}}))
    config = {"hub": "screen-test", "listen": {"port": 0}, "devices": "devices",
              "statusPage": str(REPO / "Assets/status"), "screens": str(REPO / "Assets/screens"),
              "shades": str(REPO / "Assets/shades.json")}
    if share:
        config["share"] = share
    path = tmp_path / "hub.json"
    path.write_text(json.dumps(config))
    return path


def token(hub, config, role, device=None):
    args = [str(BINARY), "token", "create", "--role", role, "--state", str(hub.state_dir)]
    if device:
        args += ["--device", device, "--config", str(config)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def store(hub_factory, tmp_path):
    if not PORTRAIT.exists():
        pytest.skip("the portrait is fetched by scripts/fetch-assets")
    config = write_store(tmp_path)
    hub = hub_factory.start_config(config)
    staff = token(hub, config, "staff")
    return hub, config, staff


def pair(hub, staff, device=MIRROR, wanted=MIRROR):
    status, started, _ = request(hub, "POST", "api/v1/screens/pairings", body={"device": wanted})
    assert status == 200, started
    status, body, _ = request(hub, "POST", "api/v1/screens", staff, {"code": started["code"], "device": device})
    assert status == 200, body
    status, approved, _ = request(hub, "GET", f"api/v1/screens/pairings/{started['pairing']}")
    assert status == 200 and approved["state"] == "approved", approved
    return approved


def test_a_screen_pairs_with_a_code_staff_approve_and_collects_its_token_once(store):
    hub, _, staff = store
    status, started, _ = request(hub, "POST", "api/v1/screens/pairings", body={"device": MIRROR})
    assert status == 200, started
    assert len(started["code"]) == 6 and len(started["pairing"]) == 32 and started["expiresInSeconds"] == 300
    status, waiting, _ = request(hub, "GET", f"api/v1/screens/pairings/{started['pairing']}")
    assert (status, waiting["state"], waiting["code"]) == (200, "waiting", started["code"])
    status, listed, _ = request(hub, "GET", "api/v1/screens", staff)
    assert [w["code"] for w in listed["waiting"]] == [started["code"]] and listed["waiting"][0]["device"] == MIRROR

    typed = f"{started['code'][:3].lower()}-{started['code'][3:].lower()}"
    status, added, _ = request(hub, "POST", "api/v1/screens", staff, {"code": typed, "device": MIRROR})
    assert status == 200 and added["device"] == MIRROR and added["kind"] == "mirror", added
    status, approved, _ = request(hub, "GET", f"api/v1/screens/pairings/{started['pairing']}")
    assert approved["state"] == "approved" and approved["device"] == MIRROR and approved["id"] == added["id"]
    assert approved["token"].startswith(f"shb_{added['id']}_")
    status, _, _ = request(hub, "GET", f"api/v1/screens/pairings/{started['pairing']}")
    assert status == 404, "the token is handed out once"
    status, me, _ = request(hub, "GET", "api/v1/screens/self", approved["token"])
    assert status == 200 and me == {"device": MIRROR, "kind": "mirror", "name": "Beauty corner try-on mirror",
                                    "languages": LANGUAGES}
    status, listed, _ = request(hub, "GET", "api/v1/screens", staff)
    assert [s["id"] for s in listed["screens"]] == [added["id"]] and listed["waiting"] == []


def test_pairing_refuses_wrong_codes_devices_and_roles_and_limits_each_address(store):
    hub, config, staff = store
    status, started, _ = request(hub, "POST", "api/v1/screens/pairings", body={})
    assert status == 200
    for body, expected in (({"code": "AAAAAA", "device": MIRROR}, 404), ({"code": "0O1", "device": MIRROR}, 400),
                           ({"code": started["code"], "device": "scanner-9"}, 400),
                           ({"code": started["code"]}, 400)):
        status, answer, _ = request(hub, "POST", "api/v1/screens", staff, body)
        assert status == expected, (body, answer)
    service = token(hub, config, "service")
    status, _, _ = request(hub, "POST", "api/v1/screens", service, {"code": started["code"], "device": MIRROR})
    assert status == 403
    status, _, _ = request(hub, "POST", "api/v1/screens", None, {"code": started["code"], "device": MIRROR})
    assert status == 401
    status, _, _ = request(hub, "POST", "api/v1/screens/pairings", body={"device": "../../etc"})
    assert status == 400
    status, _, _ = request(hub, "GET", "api/v1/screens/pairings/00112233445566778899aabbccddeeff")
    assert status == 404
    # One pairing is running already; five more fill this address's minute, the next is refused with Retry-After.
    for _ in range(5):
        assert request(hub, "POST", "api/v1/screens/pairings", body={})[0] == 200
    status, answer, headers = request(hub, "POST", "api/v1/screens/pairings", body={})
    assert status == 429 and int(headers["Retry-After"]) > 0, answer


def test_the_token_command_makes_screen_tokens_only_for_kiosks_and_mirrors(store):
    hub, config, _ = store
    screen = token(hub, config, "screen", MIRROR)
    assert request(hub, "GET", "api/v1/screens/self", screen)[1]["kind"] == "mirror"
    result = subprocess.run([str(BINARY), "token", "create", "--role", "screen", "--device", "nope", "--config",
                             str(config), "--state", str(hub.state_dir)], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "no kiosk or mirror" in result.stderr
    result = subprocess.run([str(BINARY), "token", "create", "--role", "screen", "--state", str(hub.state_dir)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "needs --device" in result.stderr


def test_a_mirror_screen_may_do_its_own_things_and_nothing_else(store):
    hub, config, staff = store
    screen = pair(hub, staff)["token"]
    # Allowed: the catalog, its own mirror's ticket and stream, its own topics over REST.
    assert request(hub, "GET", "api/v1/shades", screen)[0] == 200
    status, ticket, _ = request(hub, "POST", f"api/v1/mirrors/{MIRROR}/ticket", screen)
    assert status == 200 and ticket["url"].startswith(f"/mirror/{MIRROR}.mjpeg?ticket=")
    assert request(hub, "GET", f"api/v1/events?topic=tryon.result.{MIRROR}", screen)[0] == 200
    assert request(hub, "GET", f"api/v1/events?topic=device.status.{MIRROR}", screen)[0] == 200
    # Refused: everything staff, services and other devices have.
    for method, path in (("GET", "api/v1/devices"), ("GET", "api/v1/hub"), ("GET", "metrics"),
                         ("GET", f"api/v1/devices/{MIRROR}/preview.jpg"), ("POST", f"api/v1/devices/{MIRROR}/snapshot"),
                         ("POST", f"api/v1/devices/{MIRROR}/restart"), ("GET", "api/v1/screens"),
                         ("GET", "api/v1/events?topic=scan.>"), ("GET", "api/v1/events?topic=tryon.>"),
                         ("GET", f"api/v1/events?topic=scan.{KIOSK}"), ("GET", f"api/v1/events?topic=mirror.command.{MIRROR}"),
                         ("POST", f"api/v1/mirrors/{KIOSK}/ticket")):
        status, body, _ = request(hub, method, path, screen)
        assert status in (403, 404), f"{method} {path} answered {status} to a screen: {body}"
    status, _, _ = request(hub, "POST", "api/v1/screens", screen, {"code": "AAAAAA", "device": MIRROR})
    assert status == 403

    async def bus():
        client = await open_bus(hub, screen)
        await client.subscribe("results", f"tryon.result.{MIRROR}")
        await client.subscribe("status", f"device.status.{MIRROR}")
        for index, topic in enumerate(("scan.>", f"scan.{KIOSK}", f"display.{KIOSK}", "tryon.result.*",
                                       f"mirror.command.{MIRROR}", ">")):
            await client.send(op="subscribe", id=f"x{index}", topic=topic)
            reply = await client.until(lambda m: m.get("id") == f"x{index}" or m["op"] == "error", 5, topic)
            assert reply["op"] == "error" and reply["code"] == "forbidden", (topic, reply)
        await client.publish(f"mirror.command.{MIRROR}", {"select": "LS-102"}, "own")
        for index, topic in enumerate((f"mirror.command.{KIOSK}", f"tryon.result.{MIRROR}", f"device.command.{MIRROR}",
                                       f"mirror.landmarks.{MIRROR}", f"display.{KIOSK}")):
            await client.send(op="publish", topic=topic, type="it", data={"select": "LS-101"}, ref=f"n{index}")
            reply = await client.until(lambda m: m.get("ref") == f"n{index}", 5, topic)
            assert reply["op"] == "error" and reply["code"] == "forbidden", (topic, reply)
    run_async(bus())


def test_a_kiosk_screen_reads_its_scans_answers_and_status_only(store):
    hub, config, staff = store
    screen = pair(hub, staff, device=KIOSK, wanted=KIOSK)
    assert screen["kind"] == "kiosk"
    assert request(hub, "POST", f"api/v1/mirrors/{MIRROR}/ticket", screen["token"])[0] == 403
    assert request(hub, "GET", "api/v1/screens/self", screen["token"])[1]["languages"] == ["fr", "en"]
    # Allowed over REST: its own topics and the catalog. Refused: everything else a staff or service token has.
    for topic in (f"scan.{KIOSK}", f"display.{KIOSK}", f"device.status.{KIOSK}"):
        assert request(hub, "GET", f"api/v1/events?topic={topic}", screen["token"])[0] == 200, topic
    assert request(hub, "GET", "api/v1/shades", screen["token"])[0] == 200
    for method, path in (("GET", "api/v1/devices"), ("GET", "api/v1/hub"), ("GET", "metrics"),
                         ("GET", f"api/v1/devices/{KIOSK}/preview.jpg"), ("POST", f"api/v1/devices/{KIOSK}/snapshot"),
                         ("POST", f"api/v1/devices/{KIOSK}/restart"), ("GET", "api/v1/screens"),
                         ("GET", "api/v1/events?topic=display.>"), ("GET", "api/v1/events?topic=scan.*"),
                         ("GET", f"api/v1/events?topic=tryon.result.{MIRROR}"),
                         ("GET", f"api/v1/events?topic=device.status.{MIRROR}"),
                         ("GET", f"api/v1/events?topic=mirror.command.{MIRROR}"), ("GET", "api/v1/insights")):
        status, body, _ = request(hub, method, path, screen["token"])
        assert status in (403, 404), f"{method} {path} answered {status} to a kiosk screen: {body}"
    status, _, _ = request(hub, "POST", "api/v1/events", screen["token"],
                           {"topic": f"display.{KIOSK}", "type": "it", "data": {"state": "ok", "title": "Ready"}})
    assert status == 403, "a kiosk screen may not answer itself over REST"
    status, _, _ = request(hub, "POST", "api/v1/events", screen["token"],
                           {"topic": f"scan.{KIOSK}", "type": "it", "data": {"text": "x"}})
    assert status == 403, "nor make scans"
    # The hub draws an answer's QR code for a screen, and for nobody else.
    status, drawn, _ = request(hub, "POST", "api/v1/screens/self/qr", screen["token"],
                               {"text": "https://shop.example/r/ORD-1001"})
    assert status == 200 and drawn["svg"].startswith("<svg"), drawn
    assert request(hub, "POST", "api/v1/screens/self/qr", None, {"text": "x"})[0] == 401
    assert request(hub, "POST", "api/v1/screens/self/qr", staff, {"text": "x"})[0] == 403
    for body in ({"text": ""}, {"text": "x" * 513}, {"text": "x", "size": 4}, {"text": 7}, {}):
        status, answer, _ = request(hub, "POST", "api/v1/screens/self/qr", screen["token"], body)
        assert status == 400 and "text" in answer["error"]["message"], (body, status, answer)

    async def bus():
        client = await open_bus(hub, screen["token"])
        for index, topic in enumerate((f"scan.{KIOSK}", f"display.{KIOSK}", f"device.status.{KIOSK}")):
            await client.subscribe(f"ok{index}", topic)
        for index, topic in enumerate((f"tryon.result.{MIRROR}", f"tryon.result.{KIOSK}", "scan.>", f"scan.{MIRROR}",
                                       "display.>", "display.*", f"display.{MIRROR}", "device.status.>",
                                       f"device.status.{MIRROR}", f"mirror.command.{KIOSK}", ">")):
            await client.send(op="subscribe", id=f"x{index}", topic=topic)
            reply = await client.until(lambda m: m.get("id") == f"x{index}" or m["op"] == "error", 5, topic)
            assert reply["op"] == "error" and reply["code"] == "forbidden", (topic, reply)
        for index, topic in enumerate((f"mirror.command.{KIOSK}", f"mirror.command.{MIRROR}", f"display.{KIOSK}",
                                       f"scan.{KIOSK}", f"device.status.{KIOSK}")):
            await client.send(op="publish", topic=topic, type="it", data={"end": True}, ref=f"k{index}")
            reply = await client.until(lambda m: m.get("ref") == f"k{index}", 5, topic)
            assert reply["op"] == "error" and reply["code"] == "forbidden", (topic, reply)
    run_async(bus())


def test_a_revoked_screen_is_refused_at_once_on_rest_and_its_bus_connection_closes(store):
    hub, _, staff = store
    screen = pair(hub, staff)

    async def scenario():
        client = await open_bus(hub, screen["token"])
        await client.subscribe("results", f"tryon.result.{MIRROR}")
        status, body, _ = request(hub, "DELETE", f"api/v1/screens/{screen['id']}", staff)
        assert status == 200, body
        await client.closed(timeout=10)
        assert client.close_code == 4401
    run_async(scenario())
    assert request(hub, "GET", "api/v1/screens/self", screen["token"])[0] == 401
    assert request(hub, "DELETE", f"api/v1/screens/{screen['id']}", staff)[0] == 404
    assert request(hub, "GET", "api/v1/screens", staff)[1]["screens"] == []


def test_mirror_commands_are_checked_at_publish_with_the_field_named(store):
    hub, _, staff = store
    screen = pair(hub, staff)["token"]

    async def scenario():
        client = await open_bus(hub, screen)
        for index, (data, field) in enumerate((({"split": 2}, "split"), ({"lighting": "disco"}, "lighting"),
                                               ({"select": "x" * 65}, "select"), ({"zoom": 1}, "zoom"),
                                               ("select", "object"))):
            await client.send(op="publish", topic=f"mirror.command.{MIRROR}", type="it", data=data, ref=f"b{index}")
            reply = await client.until(lambda m: m.get("ref") == f"b{index}", 5, field)
            assert reply["op"] == "error" and reply["code"] == "bad_request" and field in reply["message"], reply
        await client.publish(f"mirror.command.{MIRROR}", {"split": 0.5, "lighting": "evening"}, "ok")
    run_async(scenario())


def test_pages_and_files_are_served_without_a_token_and_nothing_outside_the_folder(store):
    hub, _, _ = store
    status, page, headers = request(hub, "GET", f"screens/mirror/{MIRROR}")
    assert status == 200 and b"mirror.js" in page and "default-src 'self'" in headers["Content-Security-Policy"]
    status, settings, _ = request(hub, "GET", f"screens/mirror/{MIRROR}/settings.json")
    assert settings == {"device": MIRROR, "kind": "mirror", "languages": LANGUAGES}
    assert request(hub, "GET", f"screens/kiosk/{MIRROR}")[0] == 404, "a mirror has no kiosk page"
    status, page, headers = request(hub, "GET", f"screens/kiosk/{KIOSK}")
    assert status == 200 and b"kiosk.js" in page and "default-src 'self'" in headers["Content-Security-Policy"]
    status, settings, _ = request(hub, "GET", f"screens/kiosk/{KIOSK}/settings.json")
    assert settings == {"device": KIOSK, "kind": "kiosk", "languages": ["fr", "en"], "answerTimeoutSeconds": 4}
    assert request(hub, "GET", f"screens/mirror/{KIOSK}")[0] == 404, "a kiosk has no mirror page"
    for name in ("kiosk.js", "screen.js", "screen.css"):
        assert request(hub, "GET", f"assets/screens/{name}")[0] == 200, name
    assert request(hub, "GET", "screens/mirror/nope")[0] in (400, 404)
    for language in LANGUAGES:
        status, strings, _ = request(hub, "GET", f"assets/screens/i18n/{language}.json")
        assert status == 200 and strings["mirror.picture"] and strings["kiosk.idle.step"], language
    for bad in ("assets/screens/..%2Fshades.json", "assets/screens/i18n/..%2F..%2Fshades.json",
                "assets/screens/.hidden.js", "assets/screens/mirror.html.bak", "assets/screens/i18n/xx.json"):
        assert request(hub, "GET", bad)[0] == 404, bad


def test_snapshots_are_shared_deleted_and_readable_only_by_their_own_screen(store):
    hub, config, staff = store
    screen = pair(hub, staff)["token"]
    kiosk_screen = token(hub, config, "screen", KIOSK)

    async def take():
        client = await open_bus(hub, screen)
        await client.subscribe("results", f"tryon.result.{MIRROR}")
        await client.publish(f"mirror.command.{MIRROR}", {"select": "LS-102", "snapshot": True}, "snap")
        event = await client.until(lambda m: m["op"] == "event" and m["event"]["data"]["kind"] == "snapshot", 20,
                                   "the snapshot result")
        return event["event"]["data"]
    result = run_async(take())
    snapshot = result["snapshotId"]
    assert request(hub, "GET", f"api/v1/snapshots/{snapshot}.jpg", screen)[0] == 200
    assert request(hub, "GET", f"api/v1/snapshots/{snapshot}.jpg", kiosk_screen)[0] == 403
    status, share, _ = request(hub, "GET", f"api/v1/snapshots/{snapshot}/share", screen)
    assert status == 200 and share["url"] == f"{hub.url}share/{snapshot}", share
    assert share["qrSvg"].startswith("<svg") and share["shade"]["sku"] == "LS-102"
    assert request(hub, "GET", f"api/v1/snapshots/{snapshot}/share", kiosk_screen)[0] == 403
    status, page, headers = request(hub, "GET", f"share/{snapshot}")
    assert status == 200 and b"Velvet Plum" in page and headers["Cache-Control"] == "no-store"
    status, jpeg, _ = request(hub, "GET", f"share/{snapshot}.jpg")
    assert status == 200 and jpeg[:2] == b"\xff\xd8"
    assert request(hub, "DELETE", f"api/v1/snapshots/{snapshot}", kiosk_screen)[0] == 403
    files = hub.state_dir / "snapshots"
    assert (files / f"{snapshot}.jpg").exists()
    assert request(hub, "DELETE", f"api/v1/snapshots/{snapshot}", screen)[0] == 200
    assert not (files / f"{snapshot}.jpg").exists() and not (files / f"{snapshot}.json").exists()
    for path in (f"share/{snapshot}", f"share/{snapshot}.jpg"):
        assert request(hub, "GET", path)[0] == 404
    assert request(hub, "GET", f"api/v1/snapshots/{snapshot}.jpg", staff)[0] == 404
    assert request(hub, "GET", "share/00112233445566778899aabbccddeeff")[0] == 404


def test_every_language_file_has_every_key_the_others_have():
    folder = REPO / "Assets" / "screens" / "i18n"
    files = {path.stem: json.loads(path.read_text()) for path in folder.glob("*.json")}
    assert set(LANGUAGES) <= set(files), sorted(files)
    keys = set().union(*(set(strings) for strings in files.values()))
    for language, strings in files.items():
        missing = sorted(keys - set(strings))
        assert not missing, f"{language}.json lacks {missing}"
        empty = sorted(key for key, text in strings.items() if not isinstance(text, str) or not text.strip())
        assert not empty, f"{language}.json has empty strings: {empty}"


def test_a_descriptor_language_without_its_strings_stops_the_hub(hub_factory, tmp_path):
    config = write_store(tmp_path)
    descriptor = tmp_path / "devices" / f"{KIOSK}.json"
    data = json.loads(descriptor.read_text())
    data["screen"]["languages"] = ["en", "pt"]
    descriptor.write_text(json.dumps(data))
    code, _, stderr, ready = hub_factory.run_to_exit(["run", "--config", str(config), "--state", str(tmp_path / "s")])
    assert not ready and code != 0 and "pt" in stderr and "screen.languages" in stderr, stderr


def qr_image(text):
    import io

    import segno
    from PIL import Image
    png = io.BytesIO()
    segno.make(text, error="m", micro=False).save(png, kind="png", scale=5, border=3)
    png.seek(0)
    return Image.open(png).convert("RGB")


def start_mirror_holding(hub_factory, tmp_path, text):
    """A hub whose mirror sees the portrait with a QR code of `text` held up beside the face (the mesh still fits:
    the face is unmoved), member codes being `MEMBER:` and digits; returns the hub and a screen token."""
    from PIL import Image

    picture = Image.open(PORTRAIT).convert("RGB")
    code = qr_image(text)
    picture.paste(code, (picture.width - code.width - 4, picture.height - code.height - 4))
    held = tmp_path / "portrait-holding-a-code.png"
    picture.save(held)
    config = write_store(tmp_path)
    descriptor = tmp_path / "devices" / f"{MIRROR}.json"
    data = json.loads(descriptor.read_text())
    data["camera"]["path"] = str(held)
    data["screen"]["memberPattern"] = "^MEMBER:[0-9-]{4,20}$"
    descriptor.write_text(json.dumps(data))
    hub = hub_factory.start_config(config)
    return hub, token(hub, config, "screen", MIRROR)


def test_a_member_code_held_up_to_the_mirror_links_the_visits_results(hub_factory, tmp_path):
    if not PORTRAIT.exists():
        pytest.skip("the portrait is fetched by scripts/fetch-assets")
    hub, screen = start_mirror_holding(hub_factory, tmp_path, "MEMBER:4711-0815")
    # The mirror sees the code from its first frames on, before any client is there: the link is in the log.
    deadline = time.monotonic() + 20
    links = []
    while not links and time.monotonic() < deadline:
        links = [e for e in fetch_events(hub, screen, f"tryon.result.{MIRROR}") if e["data"]["kind"] == "member"]
        time.sleep(0.2)
    assert len(links) == 1, "one link for the code held up"
    assert links[0]["data"]["member"] == "MEMBER:4711-0815"

    async def scenario():
        client = await open_bus(hub, screen)
        await client.subscribe("results", f"tryon.result.{MIRROR}")
        # Live subscribers may get the result before the publisher's "published": wait for the event only.
        await client.send(op="publish", topic=f"mirror.command.{MIRROR}", type="it", data={"wishlist": "LS-103"},
                          ref="bag")
        bag = await client.until(lambda m: m["op"] == "event" and m["event"]["data"]["kind"] == "wishlist", 20,
                                 "the wishlist result")
        assert bag["event"]["data"]["member"] == "MEMBER:4711-0815"
        assert bag["event"]["data"]["session"] == links[0]["data"]["session"]
    run_async(scenario())


def test_a_member_code_that_does_not_match_the_pattern_links_nothing(hub_factory, tmp_path):
    if not PORTRAIT.exists():
        pytest.skip("the portrait is fetched by scripts/fetch-assets")
    hub, screen = start_mirror_holding(hub_factory, tmp_path, "PICKUP:ORD-1-2:ABCD")

    async def scenario():
        client = await open_bus(hub, screen)
        await client.subscribe("results", f"tryon.result.{MIRROR}")
        await asyncio.sleep(2)  # the reader looks twice a second: it has seen the code by now
        # Live subscribers may get the result before the publisher's "published": wait for the event only.
        await client.send(op="publish", topic=f"mirror.command.{MIRROR}", type="it", data={"wishlist": "LS-103"},
                          ref="bag")
        bag = await client.until(lambda m: m["op"] == "event" and m["event"]["data"]["kind"] == "wishlist", 20,
                                 "the wishlist result")
        assert "member" not in bag["event"]["data"]
    run_async(scenario())
    events = [e["data"]["kind"] for e in fetch_events(hub, screen, f"tryon.result.{MIRROR}")]
    assert "member" not in events
