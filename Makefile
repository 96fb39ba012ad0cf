# ballot: the commands people and CI run.

CARGO ?= cargo
DURATION ?= 10m
JOBS ?=
MUTANTS_OUT ?= target/mutants
BALLOT := target/release/ballot

.PHONY: test lint fmt chaos soak build fixtures fixtures-lock hunt-raft-rs prove-bugs processes mutants timeline bench readme history-cost diagnose-matrix

## Run every test: unit, rule tables, simulated clusters, generated schedules, doc tests,
## the raft-rs 0.3 fixtures' known bugs replayed on their own builds, and openraft's nodes.
test: fixtures
	$(CARGO) test --workspace --all-targets --all-features
	$(CARGO) test --workspace --doc --all-features
	$(CARGO) test --test raft_rs -- --ignored
	$(CARGO) test --test openraft -- --ignored

## rustfmt check, clippy with warnings denied (the raft-rs 0.3 adapter too, outside the
## workspace), cargo doc without warnings, every command the docs show run by make readme,
## no import circle between modules (scripts/import-circles.py, proved on its own cases
## first), no async runtime or simulator in the core, and none of them, nor proptest or
## clap, under the judge.
lint:
	$(CARGO) fmt --all -- --check
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace --all-features
	python3 scripts/doc-commands.py
	rustfmt --edition 2021 --check crates/raft-rs-0.3/src/lib.rs fixtures/main.rs crates/openraft/src/lib.rs fixtures/openraft.rs
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	cp fixtures/raft-rs-0.3.1/Cargo.lock crates/raft-rs-0.3/Cargo.lock
	cd crates/raft-rs-0.3 && $(CARGO) clippy --target-dir ../../target/fixtures -- -D warnings
	cd fixtures/openraft-0.9.25 && $(CARGO) clippy --release --locked --target-dir ../../target/fixtures-openraft -- -D warnings
	python3 scripts/import-circles.py --self-test
	python3 scripts/import-circles.py
	@if $(CARGO) tree -p ballot-core -e normal --prefix none | grep -E '^(tokio|turmoil|async-std|smol) '; then \
		echo "ballot-core must not depend on an async runtime or a simulator"; exit 1; fi
	@if $(CARGO) tree -p ballot-judge -e normal --prefix none | grep -E '^(tokio|turmoil|async-std|smol|proptest|clap) '; then \
		echo "ballot-judge must not depend on a runtime, a simulator, proptest or clap"; exit 1; fi

## Format the code in place.
fmt:
	$(CARGO) fmt --all

## Build the ballot command, optimized.
build:
	$(CARGO) build --release -p ballot-harness

## The cores built apart, each a ballot binary of its own: the raft-rs 0.3 known-bug fixtures
## (Cargo cannot hold raft 0.3 beside raft 0.7) and openraft 0.9.24 and 0.9.25 (two releases
## cannot share a build; tokio built with --cfg tokio_unstable, in a target directory of
## their own): target/fixtures/bin/<core>, which the main ballot runs for --core <core>.
FIXTURES := raft-rs-0.3.0 raft-rs-0.3.1
OPENRAFT_FIXTURES := openraft-0.9.24 openraft-0.9.25
fixtures:
	@mkdir -p target/fixtures/bin
	@for f in $(FIXTURES); do \
		echo "building fixture $$f"; \
		(cd fixtures/$$f && $(CARGO) build --release --locked --target-dir ../../target/fixtures) || exit 1; \
		cp target/fixtures/release/ballot target/fixtures/bin/$$f || exit 1; \
	done
	@for f in $(OPENRAFT_FIXTURES); do \
		echo "building fixture $$f"; \
		(cd fixtures/$$f && $(CARGO) build --release --locked --target-dir ../../target/fixtures-openraft) || exit 1; \
		cp target/fixtures-openraft/release/ballot target/fixtures/bin/$$f || exit 1; \
	done

## After changing the dependencies of the harness, node or core, bring the fixtures' own lock
## files up to date (each keeps its release pinned); `make fixtures` builds --locked.
fixtures-lock:
	@for f in $(FIXTURES) $(OPENRAFT_FIXTURES); do (cd fixtures/$$f && $(CARGO) metadata --format-version 1 > /dev/null) || exit 1; done

## Find raft-rs PR #84 on raft-rs 0.3.0 and not on 0.3.1 with the same seeds and budget,
## and hunt raft-rs 0.7: make hunt-raft-rs [RUNS=2000] [SEED=84].
hunt-raft-rs: build fixtures
	scripts/hunt-raft-rs.sh $(RUNS) $(SEED)

## Hunt for election bugs with generated fault schedules: make chaos DURATION=60s [JOBS=2]
## [WORLD=turmoil]. The default hunts in the event world and replays every finding in turmoil.
chaos: build
	$(BALLOT) chaos --duration $(DURATION) $(if $(JOBS),--jobs $(JOBS)) $(if $(WORLD),--world $(WORLD)) --out target/chaos

## The control campaign on the shipped core, over many random base seeds in both simulated
## worlds: make soak [SEEDS=20] [RUNS=50000] [TURMOIL_SEEDS=5] [TURMOIL_RUNS=10000]
## (1,000,000 event-world and 50,000 turmoil runs; about 40 minutes on 2 cores).
soak:
	scripts/soak.sh

## What a real node's history costs: bytes a second per node of a three-node cluster on
## loopback, idle and under load (docs/diagnose.md): make history-cost [PHASE_S=10] [RATE=100].
history-cost: build
	python3 scripts/history-cost.py $(or $(PHASE_S),10) $(or $(RATE),100)

## How often diagnose names the right cause from the nodes' own files: scenarios of known
## cause in the simulator and on `ballot node` processes, scored right, wrong or missed (docs/diagnose.md); exit 1
## under 9 in 10: make diagnose-matrix [QUICK=1] (QUICK: the 3-node scenarios only).
diagnose-matrix: build
	python3 scripts/diagnose-matrix.py $(if $(QUICK),--quick)

## Run the commands of the README and the guide that no test runs (the UDP example, --json of every command,
## a short chaos, the worked failure) and check what they must do.
readme:
	scripts/readme-commands.sh

## Show that generated schedules find four known bugs put into scratch copies of the core.
prove-bugs:
	scripts/prove-bugs.sh

## Jepsen mode on real processes: a planted bug found there, and N generated schedules that
## leave nothing behind and agree with turmoil on safety: make processes [N=20].
processes:
	scripts/processes.sh $(N)

## Mutation score of the core: every cargo-mutants mutant against the core's tests, then a
## chaos budget for those the tests miss: make mutants [SHARD=2/4] [RUNS=500]. Long: see docs/mutants.md.
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
