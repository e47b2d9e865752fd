# Aisle — the two commands: `make demo` (the store day) and `make test` (every suite, every language).
# Everything they need is installed by the scripts they call: a project-local .venv with pinned
# pip packages, `npm ci` from the committed lockfile, and Maven artifacts from the pom.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# One target tree for every build: `napi build` always passes `--target <host>`, which would
# otherwise put a second copy of every dependency under target/<host>/ next to target/debug/.
export CARGO_BUILD_TARGET ?= $(shell rustc -vV | sed -n 's/^host: //p')

.PHONY: help demo test test-rust test-hub test-python test-node test-kotlin test-sync-cross test-fuzz bench fuzz

help:
	@echo "make demo   - run the store day on an embedded SQLite file"
	@echo "make test   - run every test in Rust, Python, Node and Kotlin"
	@echo "make bench  - criterion benchmarks (figures for docs/performance.md)"
	@echo "make fuzz   - run each fuzz target for FUZZ_SECONDS (default 30; installs cargo-fuzz if missing)"

demo:
	cargo run -q -p aisle-examples --bin store_day

test: test-rust test-hub test-python test-node test-kotlin test-sync-cross test-fuzz
	@echo "make test: Rust, Python, Node and Kotlin suites, cross-language sync and the fuzz smoke run passed"

test-rust:
	bash scripts/mosquitto.sh ensure
	bash scripts/models.sh ensure
	cargo test --workspace --exclude aisle-python --exclude aisle-node --exclude aisle-kotlin --exclude uniffi-bindgen --exclude aisle-sync-anchors --exclude aisle-hub
	cargo test -p aisle --features vision --lib -- vision::
	cargo test -p aisle --features vision --test vision
	cargo test -p aisle --features vision --test vision_pipeline

# The HQ hub's suite needs a real PostgreSQL: a throwaway cluster on loopback (scripts/postgres.sh),
# stopped again whether the tests pass or not.
test-hub:
	bash scripts/postgres.sh ensure
	url=$$(bash scripts/postgres.sh start) && \
	  { AISLE_PG_URL="$$url" cargo test -p aisle-hub; rc=$$?; bash scripts/postgres.sh stop; exit $$rc; }

test-python:
	bash scripts/test-python.sh
	bash scripts/vision-ort.sh

test-node:
	bash scripts/test-node.sh

test-kotlin:
	bash scripts/test-kotlin.sh

# Rust, Python, Node and Kotlin replicas converge by exchanging sync bytes (needs the three above).
test-sync-cross: test-python test-node test-kotlin
	bash scripts/test-sync-cross.sh

bench:
	cargo bench -p aisle-benches

# Every fuzz target briefly, with a fixed seed so CI replays what was already tried (a longer,
# fresh run: `make fuzz`, FUZZ_SECONDS=600 for ten minutes each).
test-fuzz:
	FUZZ_SECONDS=10 FUZZ_SEED=1 bash scripts/fuzz.sh

fuzz:
	bash scripts/fuzz.sh
