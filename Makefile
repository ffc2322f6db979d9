# Keywarden: the two commands are `make run` and `make test`.
.PHONY: run test bench bootstrap lint unit

bootstrap:
	@scripts/bootstrap.sh

# Until the desktop app exists, `run` builds kw and shows its help.
run: bootstrap
	cargo build --locked -p keywarden-cli
	./target/debug/kw --help

lint:
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings

# Every test, headless, against a real gnome-keyring on a private D-Bus.
test: bootstrap lint
	scripts/test-session.sh cargo test --locked --workspace

# Criterion benches of the core and end-to-end kw timings (BENCHMARKS.md).
bench: bootstrap
	scripts/test-session.sh cargo bench --locked -p keywarden-core
	cargo build --locked --release -p keywarden-cli
	scripts/test-session.sh python3 scripts/bench_cli.py target/release/kw
