#!/usr/bin/env python3
"""End-to-end `kw` timings: one process per command, vault of 1,000
credentials, real keychain (run inside scripts/test-session.sh)."""
import os, statistics, subprocess, sys, tempfile, time

kw = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/kw")
runs = int(os.environ.get("RUNS", "40"))
tmp = tempfile.mkdtemp()
vault = os.path.join(tmp, "vault")
env = dict(os.environ, KEYWARDEN_VAULT=vault)

def run(args, stdin=b""):
    subprocess.run([kw, *args], input=stdin, env=env, check=True, stdout=subprocess.DEVNULL)

run(["init"])
for i in range(1000):
    run(["credential", "add", f"seed {i:04}", "--type", "api-key"], f"pk_live_{i:024}".encode())

def timed(label, make_args, stdin=b""):
    samples = []
    for n in range(runs):
        args = make_args(n)
        t = time.perf_counter()
        run(args, stdin)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    print(f"{label:<44} median {statistics.median(samples):6.2f} ms   p90 {samples[int(len(samples)*0.9)-1]:6.2f} ms   ({runs} runs)")

print(f"kw end to end, vault of 1,000 credentials, {os.cpu_count()} cores")
timed("kw credential add (stdin)", lambda n: ["credential", "add", f"bench {n:04}", "--type", "api-key"], b"pk_live_benchbenchbench0001")
timed("kw credential show", lambda n: ["credential", "show", "seed 0500"])
timed("kw credential list --search 'seed 05'", lambda n: ["credential", "list", "--search", "seed 05"])
timed("kw credential list (all 1,0xx)", lambda n: ["credential", "list"])
timed("kw --json credential list (all)", lambda n: ["--json", "credential", "list"])
