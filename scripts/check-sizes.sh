#!/bin/sh
# No source file outside tests over 800 lines (ARCHITECTURE.md): a file that
# grows past it is split by what it holds. Test files (tests/, *_tests.rs,
# tests.rs, testing.rs) are not counted.
set -eu
cd "$(dirname "$0")/.."
limit=800
over=$(find crates src-tauri/src -name '*.rs' \
    -not -path '*/tests/*' -not -path '*/benches/*' -not -name '*_tests.rs' -not -name 'tests.rs' -not -name 'testing.rs' \
    -exec wc -l {} + | awk -v limit="$limit" '$2 != "total" && $1 > limit { print "  " $2 ": " $1 " lines" }')
if [ -n "$over" ]; then
    echo "check-sizes: source files over $limit lines; split them by what they hold:" >&2
    echo "$over" >&2
    exit 1
fi
