#!/usr/bin/env python3
"""make bench's last step: Keywarden's own budgets from this run, gathered
in one report beside the comparison with the peers.

    scripts/bench_report.py LOG OUT.json BENCHMARKS.md

LOG holds the output of the run's benches (scripts/bench_log.sh); every
"BENCH …" line in it is kept, and the figures with a budget are picked out
into a table and into OUT.json. Sizes are read from the release build and
the packages, where `make bundle` made them.
"""
import glob
import json
import os
import re
import sys
import time

# (key, label, budget, pattern over the BENCH lines, unit)
FIGURES = [
    ("app_start_to_list_1000_ms", "desktop app: start → interactive list of 1,000", "≤ 1,000 ms",
     r"BENCH start_to_list_1000_ms median=([\d.]+)", "ms", ("max", 1000)),
    ("ui_search_keystroke_10000_ms", "UI search over 10,000: keystroke → updated list (in page, median)", "≤ 50 ms",
     r"BENCH search_keystroke_10000_ms in_page_median=([\d.]+)", "ms", ("max", 50)),
    ("ui_search_keystroke_10000_max_ms", "UI search over 10,000: slowest keystroke", "≤ 50 ms",
     r"BENCH search_keystroke_10000_ms .*?in_page_max=([\d.]+)", "ms", ("max", 50)),
    ("revocation_p99_ms", "partner-key revocation seen by a running kw serve (p99 after the commit)", "≤ 50 ms",
     r"BENCH revocation seen by a running kw serve.*?after the commit p50 [\d.]+ ms, p99 ([\d.]+) ms", "ms",
     ("max", 50)),
    ("verify_throughput_rps", "kw serve key verification throughput", "≥ 20,000 req/s",
     r"BENCH verify throughput: \d+ requests in [\d.]+ s = (\d+) req/s", "req/s", ("min", 20000)),
    ("verify_p99_ms", "kw serve key verification latency p99", "≤ 2 ms",
     r"BENCH verify throughput:.*?p99 ([\d.]+) ms", "ms", ("max", 2)),
    ("app_binary_bytes", "desktop release binary (stripped)", "≤ 15 MB",
     r"BENCH binary=(\d+) bytes", "bytes", ("max", 15_000_000)),
    ("app_idle_resident_mb", "idle memory: app + WebKit processes, distinct resident pages", "≤ 200 MB",
     r"idle_resident_group=([\d.]+) MB", "MB", ("max", 200)),
    ("app_idle_pss_mb", "idle memory: PSS sum of app + WebKit processes", "≤ 200 MB",
     r"idle_pss_sum=([\d.]+) MB", "MB", ("max", 200)),
]


def sizes(root):
    out = {}
    for key, path in [("kw_binary_bytes", "target/release/kw"), ("app_binary_bytes_file", "target/release/keywarden")]:
        p = os.path.join(root, path)
        if os.path.exists(p):
            out[key] = os.path.getsize(p)
    debs = sorted(glob.glob(os.path.join(root, "target/release/bundle/deb/*.deb")), key=os.path.getmtime)
    if debs:
        out["deb_bytes"] = os.path.getsize(debs[-1])
    return out


def main():
    log, out_json, md = sys.argv[1:4]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = open(log, encoding="utf-8", errors="replace").read() if os.path.exists(log) else ""
    # libtest prints "test NAME ... " before a test's own output: a BENCH
    # line may start mid-line.
    lines = [m.group(0).strip() for m in re.finditer(r"BENCH [^\n]*", text)]
    figures = {}
    rows = []
    for key, label, budget, pattern, unit, (kind, limit) in FIGURES:
        m = re.search(pattern, "\n".join(lines))
        if m:
            value = float(m.group(1))
            figures[key] = value
            shown = f"{value:,.0f} {unit}" if value >= 100 else f"{value:g} {unit}"
            met = value <= limit if kind == "max" else value >= limit
            verdict = "✓" if met else "✗ over budget"
        else:
            shown, verdict = "not measured in this run", "—"
        rows.append(f"| {label} | {budget} | {shown} | {verdict} |")
    size = sizes(root)
    figures.update(size)
    if "kw_binary_bytes" in size:
        rows.append(f"| kw release binary | — | {size['kw_binary_bytes']:,} bytes | |")
    if "deb_bytes" in size:
        deb_ok = "✓" if size["deb_bytes"] <= 10_000_000 else "✗ over budget"
        rows.append(f"| .deb package (last `make bundle`) | ≤ 10 MB | {size['deb_bytes']:,} bytes | {deb_ok} |")
    else:
        rows.append("| .deb package | ≤ 10 MB | not built in this run (`make bundle`; issue 8's table) | — |")
    missing = [f[0] for f in FIGURES if f[0] not in figures]
    result = {"date": time.strftime("%Y-%m-%d"), "figures": figures, "bench_lines": lines, "missing": missing}
    os.makedirs(os.path.dirname(os.path.abspath(out_json)), exist_ok=True)
    with open(out_json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    rel = os.path.relpath(out_json, os.path.dirname(os.path.abspath(md)))
    body = (
        "<!-- own:begin (written by scripts/bench_report.py; `make bench` rewrites this part) -->\n"
        "## Keywarden's own budgets, from the same `make bench` run\n\n"
        f"Gathered {result['date']} from the run's benches (the lines they print, kept in "
        f"[`{rel}`]({rel})); the earlier issues' sections below explain each figure, and issue 3's why idle "
        "memory is over its budget (WebKit's own two processes).\n\n"
        "| what | budget | measured | |\n|---|---|---|---|\n" + "\n".join(rows) + "\n<!-- own:end -->"
    )
    doc = open(md, encoding="utf-8").read()
    start, end = doc.find("<!-- own:begin"), doc.find("<!-- own:end -->")
    if start >= 0 and end > start:
        doc = doc[:start] + body + doc[end + len("<!-- own:end -->"):]
    else:
        peers_end = doc.find("<!-- peers:end -->")
        at = peers_end + len("<!-- peers:end -->") if peers_end >= 0 else len(doc)
        doc = doc[:at] + "\n\n" + body + doc[at:]
    with open(md, "w", encoding="utf-8") as f:
        f.write(doc)
    print("\n".join(rows))
    if missing:
        print(f"bench_report: not measured in this run: {', '.join(missing)}", file=sys.stderr)


if __name__ == "__main__":
    main()
