# ballot: the commands people and CI run.

CARGO ?= cargo
DURATION ?= 10m
JOBS ?=
MUTANTS_OUT ?= target/mutants
BALLOT := target/release/ballot

.PHONY: test lint fmt chaos build prove-bugs mutants timeline bench readme

## Run every test: unit, rule tables, simulated clusters, generated schedules, doc tests.
test:
	$(CARGO) test --workspace --all-targets --all-features
	$(CARGO) test --workspace --doc --all-features

## rustfmt check, clippy with warnings denied, and no async runtime or simulator in the core.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	@if $(CARGO) tree -p ballot-core -e normal --prefix none | grep -E '^(tokio|turmoil|async-std|smol) '; then \
		echo "ballot-core must not depend on an async runtime or a simulator"; exit 1; fi

## Format the code in place.
fmt:
	$(CARGO) fmt --all

## Build the ballot command, optimized.
build:
	$(CARGO) build --release -p ballot-harness

## Hunt for election bugs with generated fault schedules: make chaos DURATION=60s [JOBS=2].
chaos: build
	$(BALLOT) chaos --duration $(DURATION) $(if $(JOBS),--jobs $(JOBS)) --out target/chaos

## Run the README's commands that no test runs (the UDP example, --json of every command,
## a short chaos, the worked failure) and check what they must do.
readme:
	scripts/readme-commands.sh

## Show that generated schedules find four known bugs put into scratch copies of the core.
prove-bugs:
	scripts/prove-bugs.sh

## Mutation score of the core: every cargo-mutants mutant against the core's tests, then a
## chaos budget for those the tests miss: make mutants [SHARD=2/4] [RUNS=500]. Long: see README.
mutants:
	$(CARGO) mutants --version >/dev/null 2>&1 || $(CARGO) install --locked cargo-mutants
	scripts/mutants.py run $(if $(SHARD),--shard $(SHARD)) $(if $(RUNS),--runs $(RUNS)) --out $(MUTANTS_OUT)
	scripts/mutants.py report $(MUTANTS_OUT)

## Run examples/faults.json, draw its timeline and screenshot it in headless Chromium.
timeline: build
	$(BALLOT) run examples/faults.json --timeline target/timeline.html
	scripts/screenshot.sh target/timeline.html docs/timeline.png

## Benchmarks (release): failover latency per election-timeout row (Raft paper, Figure 16),
## then simulator speed next to turmoil's floor and chaos scaling.
bench: build
	$(BALLOT) bench failover --svg docs/failover.svg
	$(BALLOT) bench sim
