# StoreHub: the two commands a newcomer needs are `make run` and `make test`.
# Both install what they need first (scripts/install-deps is idempotent and quick when nothing is missing).

SWIFT ?= swift
PYTHON := .venv/bin/python
BIN := .build/debug/storehub
RELEASE_BIN := .build/release/storehub
TESTKIT := .build/debug/storehub-testkit

.PHONY: run test deps media build build-tests build-release build-static install uninstall deb unit integration vm lint kernels \
	bench bench-bus bench-capture bench-scanners bench-decode bench-facemesh bench-tryon bench-uplink soak format \
	clean conformance fuzz bench-slow-reader api-contract bench-mirror bench-shop bench-insights bench-kiosk

run: deps media build
	@BIN=$(BIN) PYTHON=$(PYTHON) scripts/run-demo

# The fuzzers and the VM run side by side, one core each (the VM is qemu without KVM, one CPU); each one's output
# is printed when it is done, so the two do not interleave.
test: deps media lint kernels unit integration api-contract conformance
	@$(MAKE) --no-print-directory -j2 --output-sync=target fuzz vm

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

# STOREHUB_REQUIRE_MODELS=1: tests that need the face models fail, rather than skip, when set-up did not fetch them.
unit: media build-tests
	STOREHUB_REQUIRE_MODELS=1 $(SWIFT) test --skip-build

integration: media build-tests
	STOREHUB_BIN=$(BIN) $(PYTHON) -m pytest Tests/Integration -q

# The REST API against docs/openapi.yaml: the document validated as OpenAPI 3.1 and matched to the server's routes,
# then schemathesis against a demo hub with each role's token, bounded examples and time (about 3 minutes).
api-contract: media build-tests
	$(PYTHON) scripts/api-contract --binary $(BIN)

# WebSocket conformance of the bus endpoint: the Autobahn|Testsuite (Python 2.7 from pyenv, set up by the script);
# zero FAILED, zero UNCLEAN, summary in docs/conformance/autobahn-summary.md, report in test-artifacts/autobahn.
conformance: build-tests
	$(PYTHON) scripts/autobahn-conformance --binary $(BIN)

# libFuzzer on the bus protocol decoder, the config loader and REST queries with topic patterns, 60 s each (FUZZ_SECONDS=600 for longer).
FUZZ_SECONDS ?= 60
fuzz: deps
	scripts/fuzz --seconds $(FUZZ_SECONDS)

# The face kernels against a reference, on this CPU's instruction sets and on arm64's NEON under qemu (seconds).
kernels: deps
	scripts/check-kernels

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
	$(SWIFT) format lint --strict -r Sources Tests Fuzz Package.swift

format:
	$(SWIFT) format format -i -r Sources Tests Fuzz Package.swift

bench: deps media build-release bench-capture
	$(PYTHON) scripts/bench/bus_bench.py --binary $(RELEASE_BIN)
	$(PYTHON) scripts/bench/scanner_bench.py --binary $(RELEASE_BIN)
	$(PYTHON) scripts/bench/uplink_bench.py --binary $(RELEASE_BIN)

# MQTT uplink: QoS 1 events/s to Mosquitto on loopback, live and draining a backlog, beside mosquitto_pub -q 1.
bench-uplink: deps build-release
	$(PYTHON) scripts/bench/uplink_bench.py --binary $(RELEASE_BIN)

# The bus against Mosquitto (websockets listener, QoS 1, persistence) in the same run: event log, latency at
# 1,000/s, fan-out to 10 and 100 subscribers (a few minutes). See scripts/bench/README.md.
bench-bus: deps build-release
	$(PYTHON) scripts/bench/bus_bench.py --binary $(RELEASE_BIN)

# The SIGKILL soak with 200 kills instead of `make test`'s 30 (about 5 minutes).
soak: build-tests
	STOREHUB_SOAK_KILLS=200 STOREHUB_BIN=$(BIN) $(PYTHON) -m pytest Tests/Integration/test_kill9_soak.py -q -s

# Other subscribers' publish-to-deliver p99 with and without one that never reads (about a minute).
bench-slow-reader: deps build-release
	$(PYTHON) scripts/bench/slow_reader_bench.py --binary $(RELEASE_BIN)

# Serial scanner latency through a pseudo-terminal (about 10 s); part of `make bench`.
bench-scanners: deps build-release
	$(PYTHON) scripts/bench/scanner_bench.py --binary $(RELEASE_BIN)

# Capture overhead and frame-to-bus latency, measured inside the VM on vivid (figures on BENCH lines).
bench-capture: build-release
	scripts/vm-test --payload scripts/vm/camera-bench --binary $(CURDIR)/$(RELEASE_BIN) --timeout 900 \
		--log test-artifacts/vm-camera-bench.log
	@grep '^BENCH' test-artifacts/vm-camera-bench.log

# Decoding: storehub vs zbarimg vs zxing-cpp on a generated corpus (.cache/decode-corpus, made on first run),
# the strategy ablation, live video CPU at 30 fps, and RSS over 100,000 QR and DataMatrix decodes. See docs/decoding.md.
bench-decode: deps build-release
	$(PYTHON) scripts/bench/decode_bench.py --binary $(RELEASE_BIN) --ablation

# Native face landmarks vs MediaPipe's Python pipeline on the portraits, one core each (scripts/setup-mediapipe makes
# the reference venv, about 3 minutes the first time).
# One build, as a shop installs it: its face kernels pick AVX2+FMA or portable code at run time; the portable copy
# is also measured (forced), as a CPU without AVX2 would run it.
bench-facemesh: deps
	scripts/setup-mediapipe
	$(SWIFT) build -c release --product facemesh-bench
	.venv-mediapipe/bin/python scripts/bench/facemesh_bench.py --build default=.build/release/facemesh-bench \
		--kernels portable
# Try-on renderer vs an equivalent OpenCV pipeline, one core, 1280x720, each step and the whole frame, as ratios.
bench-tryon: deps
	$(SWIFT) build -c release --product storehub-tryon-bench
	$(PYTHON) scripts/bench/tryon_bench.py --binary .build/release/storehub-tryon-bench

# One mirror in the hub at 1280x720 and 1920x1080, MJPEG and YUYV camera-like frames at 30 fps (NV12 as the
# baseline), native landmarks on, stream watched: rendered fps, CPU share, capture-to-stream p50/p99 (~4 minutes).
bench-mirror: deps build-release
	$(PYTHON) scripts/bench/mirror_bench.py --binary $(RELEASE_BIN) --json test-artifacts/bench-mirror.json

# The whole demo shop at real rates for 60 s (two kiosks and a mirror at 1280x720 30 fps, camera-like frames, ten
# bus subscribers, the status page), beside the demo store as shipped: CPU, RSS, fps, scan and stream latency.
bench-shop: deps media build-release
	$(PYTHON) scripts/bench/shop_bench.py --binary $(RELEASE_BIN) --json test-artifacts/bench-shop.json

# GET /api/v1/insights over a log of 1,000,000 events (goal: at most 200 ms), beside the same counts read from the
# events' JSON (about 3 minutes, most of it filling the database).
bench-insights: deps build-release
	$(PYTHON) scripts/bench/insights_bench.py --binary $(RELEASE_BIN)

# A pickup kiosk's screen in headless Chromium with the example order service: capture to feedback and to the
# order's answer on screen, p50/p99 (goals 150 ms and 400 ms; about 2 minutes).
bench-kiosk: deps media build-release
	$(PYTHON) scripts/bench/kiosk_latency.py --binary $(RELEASE_BIN) --scans 60

clean:
	rm -rf .build .venv .cache/decode-corpus Assets/demo/media test-artifacts
