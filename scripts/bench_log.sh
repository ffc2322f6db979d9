#!/usr/bin/env bash
# make bench: runs a command with its output shown and appended to LOG, and
# keeps the command's exit status (make's /bin/sh has no pipefail), so
# scripts/bench_report.py can gather every "BENCH …" line of the run.
#   scripts/bench_log.sh LOG COMMAND ARGS…
set -euo pipefail
log=$1
shift
mkdir -p "$(dirname "$log")"
"$@" 2>&1 | tee -a "$log"
