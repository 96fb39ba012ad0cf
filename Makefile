# ballot: the commands people and CI run.

CARGO ?= cargo

.PHONY: test lint fmt

## Run every test: unit, rule tables, in-memory cluster simulations and doc tests.
test:
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

## rustfmt check and clippy with warnings denied.
## The core must stay free of async runtimes and simulators.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@if $(CARGO) tree -p ballot-core -e normal --prefix none | grep -E '^(tokio|turmoil|async-std|smol) '; then \
		echo "ballot-core must not depend on an async runtime or a simulator"; exit 1; fi

## Format the code in place.
fmt:
	$(CARGO) fmt --all
