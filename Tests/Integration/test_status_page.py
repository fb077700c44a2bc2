"""The staff status page in a real headless Chromium (Debian's chromium and chromium-driver, Selenium): sign in
with a staff token, device cards, live scans in the feed, a scanner going offline, the hub panel and the feed
filters. Screenshots go to test-artifacts/status-page/."""

import json
import urllib.error
import urllib.request
import os
import shutil
import subprocess

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import BINARY, REPO
from test_serial_scanner import PtyScanner

SHOTS = REPO / "test-artifacts" / "status-page"
WAIT = 20


@pytest.fixture
def browser():
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        pytest.fail("chromedriver missing: scripts/install-deps installs chromium-driver")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--no-proxy-server"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def store(hub_factory, tmp_path):
    """A hub with the demo's pickup kiosk and a serial scanner on a pseudo-terminal, and a staff token."""
    scanner = PtyScanner(tmp_path)
    devices = tmp_path / "devices"
    devices.mkdir()
    (devices / "kiosk-pickup.json").write_text(json.dumps({
        "id": "kiosk-pickup", "kind": "kiosk", "name": "Pickup counter kiosk",
        "camera": {"type": "replay", "path": str(REPO / "Assets/demo/media/kiosk-pickup"), "fps": 8, "hold": 4},
        "decoder": {"symbologies": ["qr"], "duplicateWindowSeconds": 3}}))
    (devices / "scanner-till.json").write_text(json.dumps({
        "id": "scanner-till", "kind": "scanner", "name": "Till handheld",
        "scanner": {"type": "serial", "path": str(scanner.link), "framing": "cr"}}))
    config = tmp_path / "hub.json"
    config.write_text(json.dumps({"hub": "browser-test", "listen": {"port": 0}, "devices": "devices",
                                  "statusPage": str(REPO / "Assets/status")}))
    state = tmp_path / "state"
    staff = subprocess.run([str(BINARY), "token", "create", "--role", "staff", "--state", str(state)],
                           capture_output=True, text=True, check=True).stdout.strip()
    hub = hub_factory.start_config(config, state_dir=state)
    yield hub, staff, scanner
    scanner.close()


def wait(driver, condition, what, timeout=WAIT):
    # The live feed and the cards are redrawn as events arrive: an element found in one poll may be gone when the
    # condition reads it, and the next poll looks again.
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2,
                             ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: condition(d))
    except Exception:
        driver.save_screenshot(str(SHOTS / "failure.png"))
        raise AssertionError(f"{what} within {timeout} s (screenshot: test-artifacts/status-page/failure.png)")


def card_state(driver, device):
    cards = driver.find_elements(By.CSS_SELECTOR, f'article.card[data-device="{device}"]')
    return cards[0].get_attribute("data-state") if cards else None


def feed_texts(driver, kind):
    return [li.text for li in driver.find_elements(By.CSS_SELECTOR, f"#feed li.feed-{kind}") if li.is_displayed()]


def sign_in(driver, hub, token):
    driver.get(hub.url)
    field = driver.find_element(By.ID, "token")
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    assert token not in driver.current_url, "the token must never be in the URL"


def test_staff_see_cards_live_scans_and_a_device_going_offline(browser, store):
    hub, staff, scanner = store
    sign_in(browser, hub, staff)
    wait(browser, lambda d: card_state(d, "kiosk-pickup") == "online" and card_state(d, "scanner-till") == "online",
         "both device cards online")
    browser.save_screenshot(str(SHOTS / "cards.png"))

    wait(browser, lambda d: any("kiosk-pickup scanned" in t for t in feed_texts(d, "scan")),
         "a kiosk scan in the live feed")
    scanner.write(b"4006381333931\r")
    wait(browser, lambda d: any("scanner-till scanned" in t and "4006" in t for t in feed_texts(d, "scan")),
         "the serial scanner's scan in the live feed")
    card = browser.find_element(By.CSS_SELECTOR, 'article.card[data-device="scanner-till"]')
    wait(browser, lambda d: "4006" in card.find_element(By.CSS_SELECTOR, ".scan").text, "the card's last scan")
    assert "4006381333931" not in card.text, "payloads are shown masked"
    browser.save_screenshot(str(SHOTS / "scans.png"))

    scanner.unplug()
    wait(browser, lambda d: card_state(d, "scanner-till") == "offline", "the scanner's card turning offline")
    reason = card.find_element(By.CSS_SELECTOR, ".reason")
    assert reason.is_displayed(), "an offline card says why"
    assert reason.find_element(By.CSS_SELECTOR, ".plain").text.startswith("The device was unplugged"), reason.text
    assert "hung up" in reason.find_element(By.CSS_SELECTOR, ".detail").get_attribute("textContent")
    wait(browser, lambda d: any("scanner-till is offline" in t for t in feed_texts(d, "status")),
         "the status change in the feed")
    assert card_state(browser, "kiosk-pickup") == "online"
    browser.save_screenshot(str(SHOTS / "offline.png"))


def test_hub_panel_and_feed_filters(browser, store):
    hub, staff, scanner = store
    sign_in(browser, hub, staff)
    version = subprocess.run([str(BINARY), "--version"], capture_output=True, text=True).stdout.strip()
    wait(browser, lambda d: d.find_element(By.ID, "hub-version").text == version, "the hub's version in its panel")
    assert browser.find_element(By.ID, "hub-connections").text not in ("", "–")
    wait(browser, lambda d: feed_texts(d, "scan"), "a scan in the feed")
    browser.find_element(By.ID, "show-scan").click()
    assert feed_texts(browser, "scan") == [], "unticking Scans hides scan lines"
    browser.find_element(By.ID, "show-scan").click()
    assert feed_texts(browser, "scan"), "ticking Scans shows them again"
    browser.set_window_size(800, 1100)  # a tablet held upright
    browser.save_screenshot(str(SHOTS / "tablet.png"))
    cards = browser.find_elements(By.CSS_SELECTOR, "article.card")
    assert all(c.size["width"] <= 800 for c in cards), "cards fit a tablet's width"


def test_a_wrong_token_is_refused_on_the_page(browser, store):
    hub, _, _ = store
    sign_in(browser, hub, "shb_00000000_" + "A" * 43)
    error = wait(browser, lambda d: d.find_element(By.ID, "login-error") if d.find_element(By.ID, "login-error")
                 .is_displayed() else None, "the sign-in error")
    assert "not accepted" in error.text
    assert not browser.find_element(By.ID, "dashboard").is_displayed()


def test_camera_thumbnail_snapshot_and_restart_from_the_card(browser, store):
    hub, staff, _ = store
    sign_in(browser, hub, staff)
    card = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, 'article.card[data-device="kiosk-pickup"]'),
                "the kiosk card")
    preview = card.find_element(By.CSS_SELECTOR, "img.preview")
    wait(browser, lambda d: preview.is_displayed() and d.execute_script("return arguments[0].naturalWidth", preview) > 0,
         "the camera's live thumbnail")
    assert browser.execute_script("return arguments[0].naturalWidth", preview) == 320  # a quarter of 1280

    card.find_element(By.XPATH, ".//button[text()='Snapshot']").click()
    link = wait(browser, lambda d: card.find_elements(By.CSS_SELECTOR, "a.snapshot-link"), "the snapshot link")[0]
    assert link.get_attribute("download").startswith("kiosk-pickup-")

    restarts_before = int(card.find_element(By.XPATH, ".//dt[text()='Restarts']/following-sibling::dd").text)
    card.find_element(By.XPATH, ".//button[text()='Restart']").click()
    wait(browser, lambda d: any("kiosk-pickup is offline (restarting at staff's request)" in t
                                for t in feed_texts(d, "status")), "the restart in the feed")
    wait(browser, lambda d: card_state(d, "kiosk-pickup") == "online", "the kiosk back online")
    wait(browser, lambda d: int(card.find_element(By.XPATH, ".//dt[text()='Restarts']/following-sibling::dd").text)
         > restarts_before, "the restart counted", timeout=30)
    browser.save_screenshot(str(SHOTS / "actions.png"))


def test_snapshot_is_a_full_size_jpeg_and_services_may_not_restart(store):
    import io
    import urllib.request

    from PIL import Image

    from conftest import _http

    hub, staff, _ = store
    request = urllib.request.Request(hub.url + "api/v1/devices/kiosk-pickup/snapshot", method="POST",
                                     headers={"Authorization": f"Bearer {staff}"})
    with _http.open(request, timeout=15) as response:
        assert response.headers["Content-Type"] == "image/jpeg"
        image = Image.open(io.BytesIO(response.read()))
    assert image.size == (1280, 720) and image.mode == "L"
    service = subprocess.run([str(BINARY), "token", "create", "--role", "service", "--state", str(hub.state_dir)],
                             capture_output=True, text=True, check=True).stdout.strip()

    def refused(path, token):
        request = urllib.request.Request(hub.url + path, method="POST", headers={"Authorization": f"Bearer {token}"})
        try:
            _http.open(request, timeout=15)
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        raise AssertionError(f"POST {path} was not refused")

    assert refused("api/v1/devices/kiosk-pickup/restart", service)[0] == 403
    code, body = refused("api/v1/devices/scanner-till/snapshot", staff)
    assert code == 503 and b"not a camera" in body


@pytest.fixture
def mirror_store(hub_factory, tmp_path):
    """A hub with one try-on mirror replaying the demo portrait, cycling shades every 2 s, and a staff token."""
    devices = tmp_path / "devices"
    devices.mkdir()
    (devices / "mirror.json").write_text(json.dumps({
        "id": "mirror-test", "kind": "mirror", "name": "Test mirror",
        "camera": {"type": "replay", "path": str(REPO / ".cache/faces/grace_hopper.jpg"), "fps": 8},
        "mirror": {"cycleShadesSeconds": 2, "landmarks": str(REPO / "Tests/Fixtures/faces/grace_hopper.json"),
                   "streamFps": 5}}))
    config = tmp_path / "hub.json"
    config.write_text(json.dumps({"hub": "browser-test", "listen": {"port": 0}, "devices": "devices",
                                  "statusPage": str(REPO / "Assets/status"),
                                  "shades": str(REPO / "Assets/shades.json")}))
    state = tmp_path / "state"
    staff = subprocess.run([str(BINARY), "token", "create", "--role", "staff", "--state", str(state)],
                           capture_output=True, text=True, check=True).stdout.strip()
    hub = hub_factory.start_config(config, state_dir=state)
    return hub, staff


def test_a_mirror_card_shows_its_live_stream_without_the_token_in_any_url(browser, mirror_store):
    hub, staff = mirror_store
    sign_in(browser, hub, staff)
    card = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, 'article.card[data-device="mirror-test"]'),
                "the mirror card")
    stream = card.find_element(By.CSS_SELECTOR, "img.stream")
    wait(browser, lambda d: stream.is_displayed() and d.execute_script("return arguments[0].naturalWidth", stream)
         == 512, "the mirror's live stream")
    source = stream.get_attribute("src")
    assert "/mirror/mirror-test.mjpeg?ticket=" in source and staff not in source
    first = browser.execute_script(
        "const c = document.createElement('canvas'); c.width = 64; c.height = 64;"
        "c.getContext('2d').drawImage(arguments[0], 0, 0, 64, 64); return c.toDataURL();", stream)
    wait(browser, lambda d: d.execute_script(
        "const c = document.createElement('canvas'); c.width = 64; c.height = 64;"
        "c.getContext('2d').drawImage(arguments[0], 0, 0, 64, 64); return c.toDataURL();", stream) != first,
         "the stream moving on (new frames, not one still)")
    wait(browser, lambda d: any("mirror-test tried for" in t for t in feed_texts(d, "tryon")),
         "a try-on result in the feed")
    browser.save_screenshot(str(SHOTS / "mirror.png"))


def test_an_event_names_its_device_by_its_subject_not_by_what_its_data_claims(browser, store):
    hub, staff, _ = store
    from conftest import open_bus, run_async

    token = subprocess.run([str(BINARY), "token", "create", "--role", "device", "--device", "tracker-x",
                            "--state", str(hub.state_dir)], capture_output=True, text=True, check=True).stdout.strip()
    sign_in(browser, hub, staff)
    wait(browser, lambda d: card_state(d, "kiosk-pickup") == "online", "the kiosk card online")

    async def spoof():
        device = await open_bus(hub, token)
        # The device token may publish only its own topics; its data claims to be the kiosk.
        await device.publish("device.status.tracker-x",
                             {"device": "kiosk-pickup", "state": "failed", "reason": "spoofed"}, ref="status",
                             event_type="storehub.device.status")
        await device.publish("scan.tracker-x", {"device": "kiosk-pickup", "symbology": "qr", "text": "SPOOFED-1"},
                             ref="scan", event_type="storehub.scan")

    run_async(spoof())
    wait(browser, lambda d: card_state(d, "tracker-x") == "failed", "the status on the publisher's own card")
    wait(browser, lambda d: any("tracker-x scanned" in t for t in feed_texts(d, "scan")),
         "the scan under the publisher's own name")
    assert card_state(browser, "kiosk-pickup") == "online", "another device's data turned the kiosk's card"
    assert not [t for t in feed_texts(browser, "scan") if "kiosk-pickup" in t and "SPOO" in t]
    assert not browser.find_element(By.ID, "hub-uplink-row").is_displayed(), "a hub without uplink shows none"


def test_each_answer_on_a_kiosk_screen_appears_in_the_staff_feed(browser, store):
    hub, staff, _ = store
    service = subprocess.run([str(BINARY), "token", "create", "--role", "service", "--state", str(hub.state_dir)],
                             capture_output=True, text=True, check=True).stdout.strip()
    sign_in(browser, hub, staff)
    wait(browser, lambda d: card_state(d, "kiosk-pickup") == "online", "the kiosk's card")
    answer = {"topic": "display.kiosk-pickup", "type": "shop.pickup.answer",
              "data": {"state": "ok", "title": {"fr": "Prête", "en": "Order <b>ready</b>"}, "answers": 7}}
    request = urllib.request.Request(hub.url + "api/v1/events", data=json.dumps(answer).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {service}"})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=20) as response:
        assert response.status == 201
    wait(browser, lambda d: any("kiosk-pickup answer to scan 7: ok – Order <b>ready</b>" in t
                                for t in feed_texts(d, "answer")), "the answer in the staff feed (as text, in English)")
    browser.find_element(By.ID, "show-answer").click()
    assert feed_texts(browser, "answer") == [], "unticking Answers hides them"


def test_the_insights_panel_draws_the_hours_scans_as_inline_svg(browser, store):
    hub, staff, scanner = store
    sign_in(browser, hub, staff)
    scanner.write(b"4006381333931\r")
    wait(browser, lambda d: any("scanner-till scanned" in t for t in feed_texts(d, "scan")), "the scan in the feed")
    browser.refresh()  # the panel loads when the page does, then every minute
    # Read in one go in the page: the panel redraws itself, so elements found earlier can be replaced.
    series = "return [...document.querySelectorAll('#insights-scans svg rect[data-series]')].map(r => r.dataset.series)"
    wait(browser, lambda d: "scans on scanner-till" in d.execute_script(series),
         "the scanner's bar in the insights chart")
    assert browser.find_elements(By.CSS_SELECTOR, "#insights-pickups svg"), "the pickups chart is drawn too"
    assert not browser.find_elements(By.CSS_SELECTOR, "script[src^='http']"), "no script from elsewhere"
    browser.save_screenshot(str(SHOTS / "insights.png"))
