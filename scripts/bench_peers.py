#!/usr/bin/env python3
"""Keywarden side by side with the tools users would pick instead:
KeePassXC (keepassxc-cli), pass (with a throwaway GnuPG key) and an OpenBao
KV v2 store (dev server on loopback). Run by `make bench` inside
scripts/test-session.sh (Keywarden's key lives in the real Secret Service).

    scripts/bench_peers.py KW PEER_BENCH OUT.json

Every tool does the same logical work: the same names, the same 40-character
secrets, the same counts. Single operations are one process each, as a user
or a script runs them. Workloads are interleaved: each phase runs on every
tool in turn, the order rotating from run to run, so drift in the machine
falls on all of them alike. After each run a sample is read back from every
tool and compared with what was written, and the counts are checked; a tool
that lost or changed anything fails the bench.

A peer that is missing fails the bench loudly (no column is dropped).
Environment: PEER_RUNS (default 5), KEYWARDEN_BAO (the bao binary).
"""
import hashlib
import http.client
import json
import os
import platform
import random
import shutil
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time

RUNS = int(os.environ.get("PEER_RUNS", "5"))
N_SMALL = 100
N_BULK = 10_000
SECRET_LEN = 40
SEARCH = "api-0004"  # erp-api-00040 … 00049: 10 matches in either store
REPEAT = 10  # single operations timed this many times per run
MASTER = "bench-master-password"


def fail(msg):
    print(f"make bench: {msg}", file=sys.stderr)
    sys.exit(1)


def sh(args, stdin=b"", env=None, check=True):
    p = subprocess.run(args, input=stdin, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        fail(f"{' '.join(map(str, args[:4]))} … exited {p.returncode}: {p.stderr.decode(errors='replace')[-400:]}")
    return p


def timed(args, stdin=b"", env=None):
    t = time.perf_counter()
    p = sh(args, stdin, env)
    return (time.perf_counter() - t) * 1000, p


def drop_caches():
    """Cold means the page cache too, where the kernel lets us drop it."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()


# ---------------------------------------------------------------- the work

rng = random.Random(20261123)
ALPHABET = string.ascii_letters + string.digits


def secret():
    return "".join(rng.choice(ALPHABET) for _ in range(SECRET_LEN))


SMALL = [(f"erp-api-{i:05d}", secret()) for i in range(N_SMALL)]
BULK = [(f"erp-api-{i:05d}", secret()) for i in range(N_BULK)]


def keepass_xml(entries):
    def uuid(i):
        import base64

        return base64.b64encode(hashlib.md5(str(i).encode()).digest()).decode()

    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        "<KeePassFile><Meta><Generator>keywarden-bench</Generator><DatabaseName>bench</DatabaseName></Meta>",
        f"<Root><Group><UUID>{uuid('root')}</UUID><Name>Root</Name>",
    ]
    for i, (name, value) in enumerate(entries):
        out.append(
            f"<Entry><UUID>{uuid(i)}</UUID>"
            f"<String><Key>Title</Key><Value>{name}</Value></String>"
            "<String><Key>UserName</Key><Value></Value></String>"
            f'<String><Key>Password</Key><Value ProtectInMemory="True">{value}</Value></String>'
            "</Entry>"
        )
    out.append("</Group></Root></KeePassFile>")
    return "\n".join(out)


# ---------------------------------------------------------------- the tools


class Kw:
    name = "keywarden"
    label = "Keywarden (kw)"

    def __init__(self, kw, peer_bench, tmp):
        self.kw, self.peer_bench, self.tmp = kw, peer_bench, tmp

    def env(self, store):
        return dict(os.environ, KEYWARDEN_VAULT=os.path.join(store, "vault"))

    def create(self, store):
        return timed([self.kw, "init"], env=self.env(store))[0]

    def add(self, store, name, value):
        return timed([self.kw, "credential", "add", name, "--type", "api-key"], value.encode(), self.env(store))[0]

    def lookup(self, store, name):
        return timed([self.kw, "credential", "show", name], env=self.env(store))[0]

    def search(self, store, sub):
        ms, p = timed([self.kw, "--json", "credential", "list", "--search", sub], env=self.env(store))
        return ms, len(json.loads(p.stdout))

    def update(self, store, name, value):
        return timed([self.kw, "credential", "rotate", name, "--offline"], value.encode(), self.env(store))[0]

    def delete(self, store, name):
        return timed([self.kw, "credential", "delete", name], env=self.env(store))[0]

    def bulk(self, store, files):
        # kw init + the import: keepassxc-cli import also creates its database.
        a = self.create(store)
        b = timed([self.kw, "credential", "import", "--from", "keepass-xml", files["xml"]], env=self.env(store))[0]
        return a + b

    def open_cold(self, store, name):
        return self.lookup(store, name)

    def readback(self, store, names):
        p = sh([self.peer_bench, "readback", os.path.join(store, "vault"), *names])
        return dict(line.split(" ", 1) for line in p.stdout.decode().splitlines())

    def count(self, store):
        return len(json.loads(sh([self.kw, "--json", "credential", "list"], env=self.env(store)).stdout))


class KeePassXC:
    name = "keepassxc"
    label = "KeePassXC (keepassxc-cli)"

    def db(self, store):
        return os.path.join(store, "db.kdbx")

    def create(self, store):
        return timed(["keepassxc-cli", "db-create", "-q", "-p", self.db(store)], f"{MASTER}\n{MASTER}\n".encode())[0]

    def add(self, store, name, value):
        return timed(["keepassxc-cli", "add", "-q", "-p", self.db(store), name], f"{MASTER}\n{value}\n".encode())[0]

    def lookup(self, store, name):
        return timed(["keepassxc-cli", "show", "-q", "-s", self.db(store), name], f"{MASTER}\n".encode())[0]

    def search(self, store, sub):
        ms, p = timed(["keepassxc-cli", "search", "-q", self.db(store), sub], f"{MASTER}\n".encode())
        return ms, len([line for line in p.stdout.decode().splitlines() if line.strip()])

    def update(self, store, name, value):
        return timed(["keepassxc-cli", "edit", "-q", "-p", self.db(store), name], f"{MASTER}\n{value}\n".encode())[0]

    def delete(self, store, name):
        return timed(["keepassxc-cli", "rm", "-q", self.db(store), name], f"{MASTER}\n".encode())[0]

    def bulk(self, store, files):
        return timed(
            ["keepassxc-cli", "import", "-q", "-p", files["xml"], self.db(store)], f"{MASTER}\n{MASTER}\n".encode()
        )[0]

    def open_cold(self, store, name):
        return self.lookup(store, name)

    def readback(self, store, names):
        out = {}
        for n in names:
            p = sh(["keepassxc-cli", "show", "-q", "-s", "-a", "Password", self.db(store), n], f"{MASTER}\n".encode())
            out[n] = sha(p.stdout.decode().rstrip("\n"))
        return out

    def count(self, store):
        p = sh(["keepassxc-cli", "ls", "-q", "-R", "-f", self.db(store)], f"{MASTER}\n".encode())
        lines = [line for line in p.stdout.decode().splitlines() if line.strip()]
        # `rm` moves an entry to the recycle bin, KeePassXC's delete.
        return len([line for line in lines if not line.endswith("/") and not line.startswith("Recycle Bin/")])


class Pass:
    name = "pass"
    label = "pass (GnuPG)"

    def __init__(self, gnupghome, key_id):
        self.gnupghome, self.key_id = gnupghome, key_id

    def env(self, store):
        return dict(os.environ, PASSWORD_STORE_DIR=os.path.join(store, "pass"), GNUPGHOME=self.gnupghome)

    def create(self, store):
        return timed(["pass", "init", self.key_id], env=self.env(store))[0]

    def add(self, store, name, value):
        return timed(["pass", "insert", "-m", name], f"{value}\n".encode(), self.env(store))[0]

    def lookup(self, store, name):
        return timed(["pass", "show", name], env=self.env(store))[0]

    def search(self, store, sub):
        ms, p = timed(["pass", "find", sub], env=self.env(store))
        return ms, len([line for line in p.stdout.decode().splitlines() if "erp-api-" in line])

    def update(self, store, name, value):
        return timed(["pass", "insert", "-m", "-f", name], f"{value}\n".encode(), self.env(store))[0]

    def delete(self, store, name):
        return timed(["pass", "rm", "-f", name], env=self.env(store))[0]

    bulk = None  # pass has no import path of its own

    def readback(self, store, names):
        return {n: sha(sh(["pass", "show", n], env=self.env(store)).stdout.decode().rstrip("\n")) for n in names}

    def count(self, store):
        root = os.path.join(store, "pass")
        return len([f for f in os.listdir(root) if f.endswith(".gpg")])


class OpenBao:
    name = "openbao"
    label = "OpenBao KV v2 (bao)"

    def __init__(self, bao, port):
        self.bao, self.port = bao, port
        self.addr = f"http://127.0.0.1:{port}"
        self.env_ = dict(os.environ, BAO_ADDR=self.addr, BAO_TOKEN="root", VAULT_ADDR=self.addr, VAULT_TOKEN="root")
        self.mounts = 0

    def mount(self, store):
        return os.path.basename(store)

    def create(self, store):
        return timed([self.bao, "secrets", "enable", "-version=2", f"-path={self.mount(store)}", "kv"], env=self.env_)[0]

    def add(self, store, name, value):
        m = self.mount(store)
        return timed([self.bao, "kv", "put", f"-mount={m}", name, "secret=-"], value.encode(), self.env_)[0]

    def lookup(self, store, name):
        return timed([self.bao, "kv", "get", f"-mount={self.mount(store)}", name], env=self.env_)[0]

    def search(self, store, sub):
        # KV has no search: listing the keys and filtering them is how a
        # script finds one.
        ms, p = timed([self.bao, "kv", "list", "-format=json", f"-mount={self.mount(store)}"], env=self.env_)
        return ms, len([k for k in json.loads(p.stdout) if sub in k])

    def update(self, store, name, value):
        return self.add(store, name, value)

    def delete(self, store, name):
        return timed([self.bao, "kv", "metadata", "delete", f"-mount={self.mount(store)}", name], env=self.env_)[0]

    def bulk(self, store, files):
        """The mount and 10,000 writes over one keep-alive HTTP client."""
        m = self.mount(store)
        t = time.perf_counter()
        c = http.client.HTTPConnection("127.0.0.1", self.port)
        hdr = {"X-Vault-Token": "root", "Content-Type": "application/json"}

        def call(method, path, body):
            c.request(method, path, json.dumps(body), hdr)
            r = c.getresponse()
            data = r.read()
            if r.status not in (200, 204):
                fail(f"OpenBao {method} {path}: {r.status} {data[:200]!r}")

        call("POST", f"/v1/sys/mounts/{m}", {"type": "kv", "options": {"version": "2"}})
        for name, value in BULK:
            call("POST", f"/v1/{m}/data/{name}", {"data": {"secret": value}})
        c.close()
        return (time.perf_counter() - t) * 1000

    def open_cold(self, store, name):
        return self.lookup(store, name)

    def readback(self, store, names):
        m = self.mount(store)
        return {
            n: sha(sh([self.bao, "kv", "get", "-field=secret", f"-mount={m}", n], env=self.env_).stdout.decode())
            for n in names
        }

    def count(self, store):
        p = sh([self.bao, "kv", "list", "-format=json", f"-mount={self.mount(store)}"], env=self.env_)
        return len(json.loads(p.stdout))


# ---------------------------------------------------------------- set-up


def require_peers(bao):
    missing = []
    for tool in ["keepassxc-cli", "pass", "gpg", "tree"]:
        if not shutil.which(tool):
            missing.append(tool)
    if not bao or not os.access(bao, os.X_OK):
        missing.append(f"bao (KEYWARDEN_BAO={bao!r})")
    if missing:
        fail(
            "these peers are not installed: "
            + ", ".join(missing)
            + ". `scripts/bootstrap.sh --bench` installs them (Debian's keepassxc, pass; OpenBao from PyPI);"
            " the comparison is not run with a column missing."
        )


def throwaway_gpg_key(home):
    os.makedirs(home, mode=0o700)
    env = dict(os.environ, GNUPGHOME=home)
    sh(
        ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
         "Keywarden bench <bench@localhost>", "rsa3072", "encrypt", "1d"],
        env=env,
    )
    p = sh(["gpg", "--batch", "--with-colons", "--list-keys"], env=env)
    fpr = [line.split(":")[9] for line in p.stdout.decode().splitlines() if line.startswith("fpr:")]
    return fpr[0]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_bao(bao, port):
    proc = subprocess.Popen(
        [bao, "server", "-dev", "-dev-root-token-id=root", f"-dev-listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/v1/sys/health")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    fail("the OpenBao dev server did not start")


def first_line(args, env=None):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    lines = [line.strip() for line in p.stdout.decode(errors="replace").splitlines() if line.strip()]
    return lines[0] if lines else "?"


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(next(line.split()[1] for line in f if line.startswith("MemTotal"))) // 1024 // 1024
    except (OSError, StopIteration):
        pass
    distro = "?"
    try:
        with open("/etc/os-release") as f:
            distro = next(line.split("=", 1)[1].strip().strip('"') for line in f if line.startswith("PRETTY_NAME"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem, "os": distro, "kernel": platform.release()}


# ---------------------------------------------------------------- the run

PHASES = ["create", "add_100", "lookup", "search", "update", "delete", "bulk_import", "open_cold", "search_bulk"]


def main():
    if len(sys.argv) != 4:
        fail("usage: scripts/bench_peers.py KW PEER_BENCH OUT.json")
    kw, peer_bench, out_path = (os.path.abspath(a) for a in sys.argv[1:])
    bao = os.environ.get("KEYWARDEN_BAO", "")
    require_peers(bao)
    tmp = tempfile.mkdtemp(prefix="kw-peers-")
    files = {"xml": os.path.join(tmp, "bulk.xml"), "small_csv": os.path.join(tmp, "small.csv")}
    with open(files["xml"], "w") as f:
        f.write(keepass_xml(BULK))
    with open(files["small_csv"], "w") as f:
        f.write("name,secret\n" + "".join(f"{n},{s}\n" for n, s in SMALL))

    try:
        run_all(kw, peer_bench, out_path, bao, tmp, files)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_all(kw, peer_bench, out_path, bao, tmp, files):
    key = throwaway_gpg_key(os.path.join(tmp, "gnupg"))
    port = free_port()
    bao_proc = start_bao(bao, port)
    tools = [Kw(kw, peer_bench, tmp), KeePassXC(), Pass(os.path.join(tmp, "gnupg"), key), OpenBao(bao, port)]
    versions = {
        "keywarden": first_line([kw, "--version"]) + " (" + first_line(["git", "describe", "--always", "--dirty"]) + ")",
        "keepassxc": "keepassxc-cli " + first_line(["keepassxc-cli", "--version"]),
        "pass": next(
            (line.strip() for line in sh(["pass", "version"]).stdout.decode().splitlines() if "v1." in line), "?"
        ).strip("= "),
        "gnupg": first_line(["gpg", "--version"]),
        "openbao": first_line([bao, "version"]),
        "python": platform.python_version(),
    }
    samples = {p: {t.name: [] for t in tools} for p in PHASES}
    samples_core = {}
    cold_dropped = True
    try:
        for run in range(RUNS):
            order = tools[run % len(tools):] + tools[: run % len(tools)]
            stores = {}
            for t in order:
                stores[t.name] = os.path.join(tmp, f"r{run}{t.name}s")
                os.makedirs(stores[t.name])
                samples["create"][t.name].append(t.create(stores[t.name]))
            for t in order:
                st = stores[t.name]
                samples["add_100"][t.name].append(sum(t.add(st, n, s) for n, s in SMALL))
            for t in order:
                for i in range(REPEAT):
                    samples["lookup"][t.name].append(t.lookup(stores[t.name], SMALL[(run * 7 + i * 9) % N_SMALL][0]))
            for t in order:
                for _ in range(REPEAT):
                    ms, found = t.search(stores[t.name], SEARCH)
                    if found != 10:
                        fail(f"{t.label}: the search for '{SEARCH}' found {found} credentials, not 10")
                    samples["search"][t.name].append(ms)
            updated = {}
            for t in order:
                for i in range(REPEAT):
                    name = SMALL[i][0]
                    value = secret()
                    updated[(t.name, name)] = value
                    samples["update"][t.name].append(t.update(stores[t.name], name, value))
            deleted = [SMALL[N_SMALL - 1 - i][0] for i in range(REPEAT)]
            for t in order:
                for name in deleted:
                    samples["delete"][t.name].append(t.delete(stores[t.name], name))
            # Read back: updated ones hold their new secret, untouched ones
            # their first, deleted ones are gone.
            for t in tools:
                st = stores[t.name]
                names = [SMALL[0][0], SMALL[3][0], SMALL[42][0], SMALL[77][0]]
                got = t.readback(st, names)
                for n in names:
                    want = updated.get((t.name, n), dict(SMALL)[n])
                    if got.get(n) != sha(want):
                        fail(f"{t.label}: read back of '{n}' does not match what was written")
                if (c := t.count(st)) != N_SMALL - REPEAT:
                    fail(f"{t.label}: holds {c} credentials after 100 adds and {REPEAT} deletes")
            # Bulk: each tool's own import path, then a cold open.
            for t in order:
                if t.bulk is None:
                    continue
                bst = os.path.join(tmp, f"r{run}{t.name}b")
                os.makedirs(bst)
                stores[t.name + "_bulk"] = bst
                samples["bulk_import"][t.name].append(t.bulk(bst, files))
            pick = BULK[(run * 1237 + 5000) % N_BULK][0]
            for t in order:
                if t.bulk is None:
                    continue
                cold_dropped &= drop_caches()
                samples["open_cold"][t.name].append(t.open_cold(stores[t.name + "_bulk"], pick))
            for t in order:
                if t.bulk is None:
                    continue
                for _ in range(REPEAT):
                    ms, found = t.search(stores[t.name + "_bulk"], SEARCH)
                    if found != 10:
                        fail(f"{t.label}: the search over {N_BULK:,} found {found}, not 10")
                    samples["search_bulk"][t.name].append(ms)
            for t in tools:
                if t.bulk is None:
                    continue
                bst = stores[t.name + "_bulk"]
                names = [BULK[i][0] for i in (0, 1, 4999, 9998, 9999)]
                got = t.readback(bst, names)
                for n in names:
                    if got.get(n) != sha(dict(BULK)[n]):
                        fail(f"{t.label}: read back of '{n}' after the bulk import does not match")
                if (c := t.count(bst)) != N_BULK:
                    fail(f"{t.label}: holds {c} credentials after importing {N_BULK:,}")
            # The core, in process, the same workloads.
            p = sh([peer_bench, "core", files["small_csv"], files["xml"], SEARCH])
            for k, v in json.loads(p.stdout).items():
                samples_core.setdefault(k, []).append(v)
            for t in tools:
                for suffix in ("", "_bulk"):
                    if t.name + suffix in stores:
                        shutil.rmtree(stores[t.name + suffix], ignore_errors=True)
            print(f"bench_peers: run {run + 1}/{RUNS} done", file=sys.stderr)
    finally:
        bao_proc.kill()
        bao_proc.wait()

    workloads = {}
    for phase in PHASES:
        row = {}
        for t in tools:
            s = samples[phase][t.name]
            if s:
                row[t.name] = {"median_ms": round(statistics.median(s), 2), "min_ms": round(min(s), 2),
                               "max_ms": round(max(s), 2), "samples": len(s)}
        core_key = {"add_100": "add_100", "create": "create", "lookup": "lookup", "search": "search",
                    "update": "update", "delete": "delete", "bulk_import": "bulk_import", "open_cold": "open_cold",
                    "search_bulk": "search_bulk"}[phase]
        if core_key in samples_core:
            s = samples_core[core_key]
            row["keywarden_core"] = {"median_ms": round(statistics.median(s), 3), "min_ms": round(min(s), 3),
                                     "max_ms": round(max(s), 3), "samples": len(s)}
        kwm = row["keywarden"]["median_ms"]
        row["ratio_keywarden_to"] = {
            t.name: round(kwm / row[t.name]["median_ms"], 3) for t in tools[1:] if t.name in row
        }
        workloads[phase] = row
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "versions": versions,
        "runs": RUNS,
        "repeats_per_run": REPEAT,
        "counts": {"small": N_SMALL, "bulk": N_BULK, "secret_chars": SECRET_LEN},
        "page_cache_dropped_for_cold": cold_dropped,
        "read_back": "Read back after every run: 4 of the 100 (2 of them updated) and 5 of the 10,000 from every tool, "
        "compared by SHA-256, and every store's count",
        "workloads": workloads,
    }
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    md = os.environ.get("BENCH_MD")
    if md:
        write_markdown(result, md, os.path.relpath(out_path, os.path.dirname(os.path.abspath(md))))
    print(markdown_table(result))


LABELS = {
    "create": "create a store",
    "add_100": "add 100, one process each (total)",
    "lookup": "look one up by name",
    "search": "search by substring (100)",
    "update": "update one (new secret)",
    "delete": "delete one",
    "bulk_import": "import 10,000 (own bulk path)",
    "open_cold": "open cold after the import, read one",
    "search_bulk": "search by substring (10,000)",
}
COLUMNS = [("keywarden", "kw"), ("keywarden_core", "core"), ("keepassxc", "keepassxc-cli"), ("pass", "pass"),
           ("openbao", "OpenBao")]


def fmt_ms(v):
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def markdown_table(result):
    head = "| workload | " + " | ".join(c[1] for c in COLUMNS) + " | kw ÷ keepassxc-cli | kw ÷ pass | kw ÷ OpenBao |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 4)]
    for phase, row in result["workloads"].items():
        cells = [fmt_ms(row[k]["median_ms"]) if k in row else "—" for k, _ in COLUMNS]
        ratios = [
            f"**{row['ratio_keywarden_to'][p]:.3g}**" if p in row["ratio_keywarden_to"] else "—"
            for p in ("keepassxc", "pass", "openbao")
        ]
        lines.append(f"| {LABELS[phase]} | " + " | ".join(cells + ratios) + " |")
    return "\n".join(lines)


def write_markdown(result, md_path, json_rel):
    m = result["machine"]
    v = result["versions"]
    body = f"""<!-- peers:begin (written by scripts/bench_peers.py; `make bench` rewrites this part) -->
## Side by side: Keywarden, KeePassXC, pass, OpenBao

Measured {result['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}
(kernel {m['kernel']}); {result['runs']} interleaved runs, medians. The JSON for later
comparison: [`{json_rel}`]({json_rel}).

Versions: {v['keywarden']}; {v['keepassxc']}; pass {v['pass']} with {v['gnupg']} (a throwaway
RSA-3072 key, no passphrase); {v['openbao']} (dev server on loopback, in-memory storage, root token).

{markdown_table(result)}

Ratios are Keywarden's median time over the peer's: below 1 Keywarden is faster
(0.1 = ten times faster). `core` is the same work in process through
`keywarden-core` (no process start, no keychain round trip per operation).
Each single operation is one process and was timed {result['repeats_per_run']} times a run;
searches find the same 10 names in every store. {result['read_back']}.
Cold opens {'dropped the page cache first' if result['page_cache_dropped_for_cold'] else 'ran with a warm page cache (dropping it was not allowed)'}.
<!-- peers:end -->"""
    try:
        with open(md_path) as f:
            text = f.read()
    except FileNotFoundError:
        text = "# Benchmarks\n"
    start = text.find("<!-- peers:begin")
    end = text.find("<!-- peers:end -->")
    if start >= 0 and end > start:
        text = text[:start] + body + text[end + len("<!-- peers:end -->"):]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    with open(md_path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
