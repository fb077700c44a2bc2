# StoreHub: the two commands a newcomer needs are `make run` and `make test`.
# Both install what they need first (scripts/install-deps is idempotent and quick when nothing is missing).

SWIFT ?= swift
PYTHON := .venv/bin/python
BIN := .build/debug/storehub
RELEASE_BIN := .build/release/storehub

.PHONY: run test deps media build build-tests build-release unit integration vm lint bench bench-decode format clean

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

lint:
	$(SWIFT) format lint --strict -r Sources Tests Package.swift

format:
	$(SWIFT) format format -i -r Sources Tests Package.swift

bench: deps media build-release
	$(PYTHON) scripts/bench/bus_bench.py --binary $(RELEASE_BIN)

# Decoding: storehub vs zbarimg vs zxing-cpp on a generated corpus (.cache/decode-corpus, made on first run),
# the strategy ablation, live video CPU at 30 fps, and RSS over 100,000 QR decodes. See docs/decoding.md.
bench-decode: deps build-release
	$(PYTHON) scripts/bench/decode_bench.py --binary $(RELEASE_BIN) --ablation

clean:
	rm -rf .build .venv .cache/decode-corpus Assets/demo/media test-artifacts
