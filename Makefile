# The commands the README gives. Each target says what it needs.

CARGO ?= cargo
HOST ?= 127.0.0.1
PORT ?= 5001
FUZZ_SECONDS ?= 20

.PHONY: run-server run-client test test-rust test-conformance lint fmt doc bench soak fuzz fuzz-smoke deps clean
.PHONY: windows dist test-windows

## Run a server on all interfaces (TCP 5001, UDP 5002). Needs only Rust.
run-server:
	$(CARGO) run --release -p lanmeet-server -- --port $(PORT)

## Run a client against HOST (default 127.0.0.1).
run-client:
	scripts/ensure-deps.sh client
	$(CARGO) run --release -p lanmeet-client -- --host $(HOST) --port $(PORT)

## Everything a change must pass: unit, core, end-to-end and conformance tests.
test: test-rust test-conformance

test-rust:
	scripts/ensure-deps.sh test
	scripts/with-test-services.sh $(CARGO) test --workspace

## The black-box protocol suite (Python standard library) against a real server.
test-conformance:
	$(CARGO) build -p lanmeet-server
	python3 -m unittest discover -s tests/conformance -v

## Formatting, clippy with warnings as errors, and docs without warnings.
lint:
	scripts/ensure-deps.sh client
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

fmt:
	$(CARGO) fmt --all

doc:
	$(CARGO) doc --workspace --no-deps

## Measure the server on this machine; writes docs/BENCHMARKS.md (takes a few minutes).
## Under the test services: the classroom's desktop window plays through a null PulseAudio.
bench:
	$(CARGO) build --release -p lanmeet-server -p lanmeet-bench -p lanmeet-client
	scripts/with-test-services.sh target/release/lanmeet-bench --server target/release/lanmeet-server --out docs/BENCHMARKS.md

## Ten minutes of 32 participants with video and audio; fails if server memory grows.
soak:
	$(CARGO) build --release -p lanmeet-server -p lanmeet-bench
	target/release/lanmeet-bench --server target/release/lanmeet-server --seconds 600 soak

## Fuzz every network parser for FUZZ_SECONDS each (needs nightly and cargo-fuzz).
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

## A short run of each fuzz target.
fuzz-smoke:
	scripts/fuzz.sh 5

## lanmeet-server.exe and lanmeet-client.exe (release, x86_64, mingw-w64) in
## target/x86_64-pc-windows-gnu/release/; installs mingw-w64 and the Rust target.
windows:
	CARGO="$(CARGO)" scripts/build-windows.sh

## dist/lanmeet-VERSION-linux-x86_64.tar.gz and dist/lanmeet-VERSION-windows-x86_64.zip:
## the programs, a first-run text and the licence notices of what is linked in.
dist: windows
	CARGO="$(CARGO)" scripts/dist.sh

## The Windows programs under wine, in meetings with Linux clients (not in `test`: see docs/WINDOWS.md).
test-windows: windows
	scripts/ensure-deps.sh test
	scripts/ensure-deps.sh wine
	$(CARGO) build -p lanmeet-server -p lanmeet-client
	scripts/with-test-services.sh python3 scripts/wine_smoke.py

## Install the system packages the project needs (Debian/Ubuntu).
deps:
	scripts/ensure-deps.sh all

clean:
	$(CARGO) clean
