# StoreHub: the two commands a newcomer needs are `make run` and `make test`.
# Both install what they need first (scripts/install-deps is idempotent and quick when nothing is missing).

SWIFT ?= swift
PYTHON := .venv/bin/python
BIN := .build/debug/storehub
RELEASE_BIN := .build/release/storehub
TESTKIT := .build/debug/storehub-testkit

.PHONY: run test deps media build build-tests build-release build-static install uninstall deb unit integration vm lint \
	bench bench-capture bench-scanners bench-decode bench-uplink soak format clean

run: deps media build
	$(BIN) run

test: deps media lint unit integration vm

deps:
	@scripts/install-deps

media: deps
	@$(PYTHON) scripts/gen-demo-media

build: deps
	$(SWIFT) build

# The test build compiles with testability; its storehub binary serves the integration tests too,
# so `make test` compiles everything once.
build-tests: deps
	$(SWIFT) build --build-tests

build-release: deps
	$(SWIFT) build -c release

unit: media build-tests
	$(SWIFT) test --skip-build

integration: media build-tests
	STOREHUB_BIN=$(BIN) $(PYTHON) -m pytest Tests/Integration -q

# The kernel's own drivers in a qemu VM (scripts/vm-test): vivid for cameras, uinput for scanners.
vm: build-tests
	scripts/vm-test --binary $(CURDIR)/$(BIN) --log test-artifacts/vm-smoke.log
	scripts/vm-test --payload scripts/vm/cameras --binary $(CURDIR)/$(BIN) --timeout 600 \
		--log test-artifacts/vm-cameras.log
	scripts/vm-test --payload scripts/vm/scanners --binary $(CURDIR)/$(BIN) --tool $(CURDIR)/$(TESTKIT) \
		--timeout 900 --log test-artifacts/vm-scanners.log

# An installable build: release, with the Swift runtime linked in (the shop's box has no Swift toolchain).
STATIC_BIN := .build-vm/release/storehub

build-static: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-vm --product storehub

# Binary, systemd unit, sysusers/tmpfiles snippets, udev rules, status page, docs and an example config
# (only when /etc/storehub/hub.json does not exist yet). DESTDIR stages it elsewhere.
install: build-static
	scripts/install-files $(STATIC_BIN) $(DESTDIR)
	@if [ -z "$(DESTDIR)" ]; then \
		systemd-sysusers storehub.conf && systemd-tmpfiles --create storehub.conf || true; \
		udevadm control --reload-rules 2>/dev/null || true; \
		[ -d /run/systemd/system ] && systemctl daemon-reload || true; \
	fi

uninstall:
	scripts/install-files --uninstall $(DESTDIR)

deb: build-static
	scripts/build-deb $(STATIC_BIN) test-artifacts

lint:
	$(SWIFT) format lint --strict -r Sources Tests Package.swift

format:
	$(SWIFT) format format -i -r Sources Tests Package.swift

bench: deps media build-release bench-capture
	$(PYTHON) scripts/bench/bus_bench.py --binary $(RELEASE_BIN)
	$(PYTHON) scripts/bench/scanner_bench.py --binary $(RELEASE_BIN)
	$(PYTHON) scripts/bench/uplink_bench.py --binary $(RELEASE_BIN)

# MQTT uplink: QoS 1 events/s to Mosquitto on loopback, live and draining a backlog, beside mosquitto_pub -q 1.
bench-uplink: deps build-release
	$(PYTHON) scripts/bench/uplink_bench.py --binary $(RELEASE_BIN)

# The SIGKILL soak with 200 kills instead of `make test`'s 30 (about 5 minutes).
soak: build-tests
	STOREHUB_SOAK_KILLS=200 STOREHUB_BIN=$(BIN) $(PYTHON) -m pytest Tests/Integration/test_kill9_soak.py -q -s

# Serial scanner latency through a pseudo-terminal (about 10 s); part of `make bench`.
bench-scanners: deps build-release
	$(PYTHON) scripts/bench/scanner_bench.py --binary $(RELEASE_BIN)

# Capture overhead and frame-to-bus latency, measured inside the VM on vivid (figures on BENCH lines).
bench-capture: build-release
	scripts/vm-test --payload scripts/vm/camera-bench --binary $(CURDIR)/$(RELEASE_BIN) --timeout 900 \
		--log test-artifacts/vm-camera-bench.log
	@grep '^BENCH' test-artifacts/vm-camera-bench.log

# Decoding: storehub vs zbarimg vs zxing-cpp on a generated corpus (.cache/decode-corpus, made on first run),
# the strategy ablation, live video CPU at 30 fps, and RSS over 100,000 QR decodes. See docs/decoding.md.
bench-decode: deps build-release
	$(PYTHON) scripts/bench/decode_bench.py --binary $(RELEASE_BIN) --ablation

clean:
	rm -rf .build .venv .cache/decode-corpus Assets/demo/media test-artifacts
