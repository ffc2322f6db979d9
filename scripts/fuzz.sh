#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that reads untrusted bytes
# (fuzz/fuzz_targets/), with libFuzzer through libfuzzer-sys.
#
#   scripts/fuzz.sh quick   15 s a target (make test: about 4 minutes in all)
#   scripts/fuzz.sh long    FUZZ_SECONDS a target, default 240 (make fuzz)
#   FUZZ_TARGETS="policy_file serve_requests" narrows either.
#
# The stable toolchain: cargo-fuzz needs nightly only for its sanitizers
# (-Zsanitizer=address); our Rust forbids `unsafe`, so they would watch
# little but the C of SQLCipher, which is not fed fuzz input. The coverage
# instrumentation cargo-fuzz uses is plain -C flags (SanitizerCoverage),
# passed here as it passes them. Release build with debug assertions and
# overflow checks on, like cargo-fuzz's default.
#
# Every file in fuzz/regressions/TARGET/ (a crash found before, now fixed)
# is replayed first. A crash fails the run and names the input to add there.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-quick}
case "$mode" in
  quick) seconds=15 ;;
  long) seconds=${FUZZ_SECONDS:-240} ;;
  *) echo "usage: scripts/fuzz.sh quick|long" >&2; exit 2 ;;
esac
all="sealed_value config_import support_bundle policy_file ipc_payloads serve_requests partner_key migration_import \
vault_header settings_json jwt_claims recovery_code www_authenticate team_answers team_broker_requests"
targets=${FUZZ_TARGETS:-$all}

# Its own target folder: other RUSTFLAGS would otherwise rebuild (and
# evict) the main build's cache.
export CARGO_TARGET_DIR="$PWD/target/fuzz"
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps the flags off build scripts and proc macros
# (they run on the host and have no libFuzzer to link), as cargo-fuzz does.
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --locked --release --manifest-path fuzz/Cargo.toml --target "$host" --bins
bin="$CARGO_TARGET_DIR/$host/release"

work="$CARGO_TARGET_DIR/work"
rm -rf "$work/seeds" "$work/logs"
mkdir -p "$work/seeds" "$work/logs" "$work/artifacts"
env -u RUSTFLAGS -u CARGO_TARGET_DIR cargo run --locked -q -p keywarden-core --features fuzzing --example fuzz_seeds -- "$work/seeds"

total=0
crashes=0
summary=()
for t in $targets; do
  corpus="$work/corpus/$t"
  mkdir -p "$corpus" "$work/artifacts/$t"
  if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
    "$bin/$t" fuzz/regressions/$t/* > "$work/logs/$t.regressions" 2>&1 || {
      cat "$work/logs/$t.regressions" >&2
      echo "fuzz: FAILED: $t: an input in fuzz/regressions/$t crashes again" >&2
      exit 1
    }
  fi
  set +e
  "$bin/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/artifacts/$t/" "$corpus" "$work/seeds/$t" > "$work/logs/$t.log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/logs/$t.log" | tail -1)
  runs=${runs:-0}
  cov=$(grep -o 'cov: [0-9]*' "$work/logs/$t.log" | tail -1 | cut -d' ' -f2)
  total=$((total + runs))
  if [ "$rc" != 0 ]; then
    crashes=$((crashes + 1))
    tail -40 "$work/logs/$t.log" >&2
    echo "fuzz: $t CRASHED; the input is in $work/artifacts/$t/ — fix it and copy the input into fuzz/regressions/$t/" >&2
  fi
  summary+=("$t: $runs executions in ${seconds} s, coverage ${cov:-?} edges, exit $rc")
  echo "fuzz: ${summary[-1]}"
done

echo "fuzz: $total executions over $(wc -w <<<"$targets") targets, $crashes crashes"
[ "$crashes" = 0 ]
