"""The systemd unit, sysusers/tmpfiles snippets, udev rules, `make install`'s file list and the .deb."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BINARY, REPO

SYSTEMD = REPO / "systemd"
ARTIFACTS = REPO / "test-artifacts"


def unit_with_binary(tmp_path):
    """The unit as installed, but starting the binary under test (verify checks that ExecStart exists)."""
    unit = tmp_path / "storehub.service"
    unit.write_text((SYSTEMD / "storehub.service").read_text().replace("/usr/bin/storehub", str(BINARY)))
    return unit


def test_unit_passes_systemd_analyze_verify(tmp_path):
    result = subprocess.run(["systemd-analyze", "verify", str(unit_with_binary(tmp_path))],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "storehub.service" not in result.stderr, result.stderr


def test_screen_unit_passes_systemd_analyze_verify(tmp_path):
    # An instance as staff enable it: the page's path after /screens/, escaped.
    unit = tmp_path / "storehub-screen@mirror-mirror\\x2dbeauty.service"
    unit.write_text((SYSTEMD / "storehub-screen@.service").read_text())
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0 and "storehub-screen" not in result.stderr, result.stderr
    escaped = subprocess.run(["systemd-escape", "mirror/mirror-beauty"], capture_output=True, text=True).stdout.strip()
    assert escaped == "mirror-mirror\\x2dbeauty"


def test_unit_exposure_is_at_most_2(tmp_path):
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit_with_binary(tmp_path))],
                            capture_output=True, text=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "systemd-security.txt").write_text(result.stdout + result.stderr)
    match = re.search(r"Overall exposure level for storehub\.service: ([0-9.]+)", result.stdout)
    assert match, result.stdout[-2000:] + result.stderr
    print(f"\n{match.group(0)} (full report: test-artifacts/systemd-security.txt)")
    assert float(match.group(1)) <= 2.0


def test_unit_speaks_notify_with_a_watchdog_and_the_device_groups():
    unit = (SYSTEMD / "storehub.service").read_text()
    for line in ("Type=notify", "WatchdogSec=30", "Restart=on-failure", "SupplementaryGroups=video input dialout",
                 "StateDirectory=storehub", "User=storehub"):
        assert re.search(rf"^{re.escape(line)}$", unit, re.M), f"{line} missing from the unit"


@pytest.mark.skipif(os.geteuid() != 0, reason="systemd-sysusers/tmpfiles --root chown to the new user: needs root")
def test_sysusers_and_tmpfiles_create_the_user_groups_and_folders(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for folder, source in (("sysusers.d", "storehub.sysusers"), ("tmpfiles.d", "storehub.tmpfiles")):
        (root / "usr/lib" / folder).mkdir(parents=True)
        shutil.copy(SYSTEMD / source, root / "usr/lib" / folder / "storehub.conf")
    subprocess.run(["systemd-sysusers", f"--root={root}"], check=True, capture_output=True)
    passwd = (root / "etc/passwd").read_text()
    group = (root / "etc/group").read_text()
    assert re.search(r"^storehub:x:\d+:\d+:StoreHub device hub:/var/lib/storehub:", passwd, re.M), passwd
    for name in ("video", "input", "dialout"):
        assert re.search(rf"^{name}:x:\d+:.*\bstorehub\b", group, re.M), f"storehub not in {name}: {group}"
    subprocess.run(["systemd-tmpfiles", f"--root={root}", "--create"], check=True, capture_output=True)
    state = root / "var/lib/storehub"
    assert state.is_dir() and oct(state.stat().st_mode & 0o777) == "0o750"
    assert (root / "etc/storehub/devices").is_dir()


def test_udev_rules_are_well_formed():
    """udevadm in Debian 12 cannot check a rules file on its own; this checks every key and operator."""
    keys = r"(SUBSYSTEM|KERNEL|ACTION|ATTR\{[a-z_]+\}|ENV\{[A-Z_]+\}|SYMLINK|GROUP|MODE)"
    assignment = re.compile(rf'^{keys}(==|!=|=|\+=)"[^"]*"$')
    rules = (SYSTEMD / "60-storehub.rules").read_text().replace("\\\n", " ")
    count = 0
    for line in rules.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(", ")]
        assert all(assignment.match(p) for p in parts), f"malformed rule: {line}"
        assert any("==" in p for p in parts) and any(re.match(r"(SYMLINK\+|GROUP|MODE)=", p) for p in parts), line
        count += 1
    assert count >= 3


def test_install_places_every_file_and_uninstall_removes_them_but_keeps_config(tmp_path):
    dest = tmp_path / "dest"
    subprocess.run([str(REPO / "scripts/install-files"), str(BINARY), str(dest)], check=True, capture_output=True)
    for path in ("usr/bin/storehub", "usr/lib/systemd/system/storehub.service", "usr/lib/sysusers.d/storehub.conf",
                 "usr/lib/tmpfiles.d/storehub.conf", "usr/lib/udev/rules.d/60-storehub.rules",
                 "usr/share/storehub/status/index.html", "etc/storehub/hub.json", "etc/storehub/devices",
                 "usr/lib/systemd/system/storehub-screen@.service", "usr/share/storehub/screens/mirror.html",
                 "usr/share/storehub/screens/i18n/zh-Hans.json", "usr/share/doc/storehub/privacy.md"):
        assert (dest / path).exists(), f"{path} not installed"
    assert os.access(dest / "usr/bin/storehub", os.X_OK)
    # A second install keeps an edited configuration.
    (dest / "etc/storehub/hub.json").write_text('{"hub": "edited"}\n')
    subprocess.run([str(REPO / "scripts/install-files"), str(BINARY), str(dest)], check=True, capture_output=True)
    assert (dest / "etc/storehub/hub.json").read_text() == '{"hub": "edited"}\n'
    subprocess.run([str(REPO / "scripts/install-files"), "--uninstall", str(dest)], check=True, capture_output=True)
    assert not (dest / "usr/bin/storehub").exists()
    assert not (dest / "usr/share/storehub").exists()
    assert (dest / "etc/storehub/hub.json").exists(), "uninstall must keep the configuration"


def test_deb_has_the_files_conffile_and_dependencies(tmp_path):
    result = subprocess.run([str(REPO / "scripts/build-deb"), "--allow-toolchain-runtime", str(BINARY), str(tmp_path)],
                            capture_output=True, text=True, check=True)
    deb = Path(result.stdout.strip().splitlines()[-1])
    fields = subprocess.run(["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Package: storehub$", fields, re.M)
    depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
    for package in ("libzbar0", "libv4l-0", "libsqlite3-0", "libturbojpeg0", "libqrencode4"):
        assert package in depends, f"{package} missing from Depends: {depends}"
    recommends = re.search(r"^Recommends: (.*)$", fields, re.M).group(1)
    for package in ("cage", "chromium", "fonts-noto-cjk"):
        assert package in recommends, f"{package} missing from Recommends: {recommends}"
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True).stdout
    for path in ("./usr/bin/storehub", "./usr/lib/systemd/system/storehub.service", "./etc/storehub/hub.json",
                 "./usr/lib/udev/rules.d/60-storehub.rules"):
        assert path in contents, f"{path} not in the package"
    control = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True).stdout
    assert b"conffiles" in control


def test_deb_refuses_a_binary_that_needs_the_swift_toolchain(tmp_path):
    result = subprocess.run([str(REPO / "scripts/build-deb"), str(BINARY), str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "--static-swift-stdlib" in result.stderr
