# SPDX-License-Identifier: Apache-2.0
# The shop's end-to-end benchmark (run through bench/run, which builds and installs first): a throwaway
# PostgreSQL cluster (tests/integration/pg.py, non-durable settings), oteldemo-backend and
# oteldemo-frontend from a release build, and a local OTLP/HTTP sink (bench/otlp-sink), all on loopback; wrk drives the
# frontend. Prints one name=value line per figure, then a table (or one JSON object with --json).
#
# Scenarios, each measured RUNS times after a warm-up (min/median/max over the runs):
#   get_traced / get_untraced       GET /api/products/{id}; 100 % sampled + exported / OTEL_SDK_DISABLED
#   post_traced / post_untraced     POST /api/orders, payment latency 0 ([payment] base latency 0, fault 0)
#   post50_traced                   POST /api/orders, payment latency exactly 50 ms (fault 50)
#   post_backend_traced             POST /api/orders straight to the backend (its own request model)
# Per run: req/s, p50/p99/max latency, errors (wrk's connect/read/write/timeout + non-2xx), CPU-ms per
# request of the frontend, the backend and PostgreSQL (utime+stime from /proc), the highest RSS, RssAnon
# and Pss of each daemon during the run.
# The daemons reach PostgreSQL over its Unix socket (as their default conninfo does on one host).
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))

from pg import PgCluster  # noqa: E402
from shop_stack import Backend, Frontend  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
ADMIN_TOKEN = "bench-admin-token"
# Every product gets this much stock so that no order of a run fails with 409 (integer column).
BENCH_STOCK = 2_000_000_000
SAMPLE_PRODUCTS = 1200
SAMPLE_USERS = 120
# The spec's default batch settings (shop_stack shortens the delay for tests; the bench must not).
DEFAULT_BSP_SCHEDULE_DELAY_MS = 5000
WRK_TIMEOUT_S = 2
SPAN_FLUSH_WAIT_S = 7
# The payment latency of the post50 scenario: Little's law bounds orders at connections / latency.
POST50_LATENCY_MS = 50
MEMORY_SAMPLE_S = 0.25
STATEMENT_COUNT_ORDERS = 20  # > default schedule delay: every queued span is exported or counted dropped
# Orders of a shop that has been running, loaded before the statistics are taken. With only the 60
# sample orders, VACUUM ANALYZE recorded a one-page orders table, and PostgreSQL's cached generic plans
# (the backend's prepared UPDATE by id, order_reserve's statements, the order_items foreign-key check)
# were sequential scans of it in every session that first ran them then, and stayed so (for the
# session's life, or until an ANALYZE of orders) while the table grew by ~1,000 orders a second. The
# scenarios that ran first (the traced ones) paid 2-4.6 ms of PostgreSQL CPU per order for it, the
# untraced ones (new sessions, a large table by then) 0.4 ms. With a history, every session plans index
# scans from the start, whichever scenario comes first.
BENCH_ORDER_HISTORY = 100_000


class OtlpSink:
    """bench/otlp-sink (C, libmicrohttpd) on a free loopback port: answers every export with 200 and an
    empty (valid) Export*ServiceResponse and decodes nothing, so that it is as quick as a Collector and
    the daemons' exporters, not the sink, decide whether spans are dropped. (A Python sink could not
    keep up under load: its answers came late enough for the queues to overflow.)"""

    def __init__(self, build_dir):
        self.proc = subprocess.Popen([str(build_dir / "bench" / "otlp-sink")], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("port="):
            self.close()
            raise RuntimeError(f"otlp-sink did not start: {line!r}")
        self.endpoint = f"http://127.0.0.1:{line.split('=', 1)[1]}"

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


# ---- /proc -------------------------------------------------------------------------------------------

def request(port, method, path, doc, want_status, headers=None):
    """Send doc as a JSON body to 127.0.0.1:port and fail unless the answer has want_status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=json.dumps(doc).encode(),
                     headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        resp.read()
        if resp.status != want_status:
            raise RuntimeError(f"{method} {path} answered {resp.status}")
    finally:
        conn.close()


def proc_cpu_ticks(pid, children=False):
    """utime+stime of pid (+ cutime+cstime of its reaped children when children is set), in ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks


def child_pids(pid):
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def postgres_cpu_ticks(postmaster_pid):
    """The whole cluster: the postmaster, its live children and the CPU of the children it reaped."""
    total = proc_cpu_ticks(postmaster_pid, children=True)
    for pid in child_pids(postmaster_pid):
        try:
            total += proc_cpu_ticks(pid)
        except OSError:
            pass  # exited meanwhile: its time is in the postmaster's cutime now
    return total


def cpu_ms_of_threads(pid):
    """CPU time of every thread of pid so far (ns resolution: /proc/PID/task/*/schedstat), in ms."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # the thread exited meanwhile
    return total / 1e6


def memory_kib(pid):
    """VmRSS and RssAnon (/proc/PID/status) and Pss (/proc/PID/smaps_rollup: shared pages divided among
    the processes mapping them) of pid, in KiB."""
    out = {}
    for path, fields in ((f"/proc/{pid}/status", ("VmRSS", "RssAnon")), (f"/proc/{pid}/smaps_rollup", ("Pss",))):
        for line in Path(path).read_text().splitlines():
            key, _, value = line.partition(":")
            if key in fields:
                out[key] = int(value.split()[0])
    return out


class MemorySampler:
    """The highest VmRSS, RssAnon and Pss of each pid while a run goes on, sampled every
    MEMORY_SAMPLE_S (the figure after the run would miss what the run's connections held)."""

    def __init__(self, pids):
        self.pids = pids
        self.peak = {name: {} for name in pids}
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def sample(self):
        for name, pid in self.pids.items():
            try:
                mem = memory_kib(pid)
            except OSError:
                continue  # exited: the run fails anyway
            for key, value in mem.items():
                self.peak[name][key] = max(self.peak[name].get(key, 0), value)

    def run(self):
        while not self.stop_event.wait(MEMORY_SAMPLE_S):
            self.sample()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()
        self.sample()


# ---- the stack -----------------------------------------------------------------------------------------

class Stack:
    """The cluster, the daemons and the sink; daemons are restarted per telemetry mode."""

    def __init__(self, build_dir, workdir):
        self.build_dir = build_dir
        self.workdir = workdir
        self.sink = OtlpSink(build_dir)
        self.pg = PgCluster()
        # pg_stat_statements (part of Debian's postgresql-15) counts what an order runs inside
        # PostgreSQL as well (statements_per_order); loaded now, it tracks nothing until then.
        self.pg.sql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        self.pg.stop()
        self.pg.start()
        self.pg.sql("ALTER SYSTEM SET pg_stat_statements.track = 'none'")
        self.pg.sql("SELECT pg_reload_conf()")
        self.db = self.pg.create_database("bench")
        self.postmaster = int(Path(self.pg.data, "postmaster.pid").read_text().split()[0])
        # The Unix socket, not TCP over loopback: what a daemon on the database's host uses.
        self.conninfo = f"host={self.pg.sockets} port={self.pg.port} user={self.pg.user} dbname={self.db.name}"
        self.backend = self.frontend = None
        self.ready_ms = {"backend": [], "frontend": []}
        self.ready_cpu_ms = {"backend": [], "frontend": []}
        self.migrate()

    def migrate(self):
        b = Backend(self.build_dir, self.conninfo, self.workdir, config=self.backend_config())
        b.migrate()
        self.db.sql("CREATE EXTENSION pg_stat_statements")
        self.db.sql(f"UPDATE products SET stock = {BENCH_STOCK}")
        self.db.sql("INSERT INTO orders (user_id, status, total_cents, currency, idempotency_key, created_at)"
                    f" SELECT 1 + g % {SAMPLE_USERS}, 'paid', 100, 'USD', 'history-' || g,"
                    f" now() - interval '1 day' FROM generate_series(1, {BENCH_ORDER_HISTORY}) g")
        self.db.sql(f"INSERT INTO order_items SELECT o.id, 1 + o.id % {SAMPLE_PRODUCTS}, 1, 100 FROM orders o"
                    " WHERE o.idempotency_key LIKE 'history-%'")
        self.db.sql("VACUUM ANALYZE")

    def backend_config(self):
        # A provider without base latency: the scenarios set the whole latency with the fault.
        return {"admin": {"token": ADMIN_TOKEN}, "payment": {"latency_min_ms": 0, "latency_jitter_ms": 0}}

    def start(self, traced):
        self.stop()
        if traced:
            env = {"OTEL_TRACES_SAMPLER": "always_on", "OTEL_BSP_SCHEDULE_DELAY": DEFAULT_BSP_SCHEDULE_DELAY_MS}
        else:
            env = {"OTEL_SDK_DISABLED": "true"}
        self.backend = Backend(self.build_dir, self.conninfo, self.workdir, self.sink,
                               config=self.backend_config(), **env)
        self.timed_start("backend", self.backend)
        self.frontend = Frontend(self.build_dir, self.backend.url, self.workdir, self.sink, **env)
        self.timed_start("frontend", self.frontend)

    def timed_start(self, name, daemon):
        """exec → READY=1 on the daemon's NOTIFY_SOCKET (wall clock), and the CPU its threads used until
        then (the figure the machine's load does not stretch)."""
        t0 = time.monotonic()
        daemon.start()
        self.ready_ms[name].append((time.monotonic() - t0) * 1000)
        self.ready_cpu_ms[name].append(cpu_ms_of_threads(daemon.daemon.proc.pid))

    def set_faults(self, faults):
        request(self.backend.port, "PUT", "/admin/faults", faults, 200,
                {"Authorization": f"Bearer {ADMIN_TOKEN}"})

    def pids(self):
        return {"frontend": self.frontend.daemon.proc.pid, "backend": self.backend.daemon.proc.pid}

    def cpu_ticks(self):
        p = self.pids()
        return {"frontend": proc_cpu_ticks(p["frontend"]), "backend": proc_cpu_ticks(p["backend"]),
                "postgres": postgres_cpu_ticks(self.postmaster)}

    def spans_dropped(self):
        """otel.sdk.processor.span.processed{error.type=queue_full} of both daemons, from /metrics."""
        total = 0
        for port in (self.frontend.port, self.backend.port):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", "/metrics")
                text = conn.getresponse().read().decode()
            finally:
                conn.close()
            for line in text.splitlines():
                if line.startswith("otel_sdk_processor_span_processed") and 'queue_full' in line:
                    total += int(float(line.rsplit(" ", 1)[1]))
        return total

    def stop(self):
        for d in (self.frontend, self.backend):
            if d and d.daemon:
                d.daemon.stop()
                d.close()
        self.frontend = self.backend = None

    def close(self):
        self.stop()
        self.pg.close()
        self.sink.close()


# ---- wrk -----------------------------------------------------------------------------------------------

def wrk(url, script, seconds, connections, threads, run_id):
    env = dict(os.environ, BENCH_LUA_DIR=str(HERE), BENCH_RUN_ID=run_id, BENCH_PRODUCTS=str(SAMPLE_PRODUCTS),
               BENCH_USERS=str(SAMPLE_USERS))
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={WRK_TIMEOUT_S}s",
                          "-s", str(HERE / script), url], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=seconds + 60)
    m = re.search(r"^wrk-json (\{.*\})$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}")
    return json.loads(m.group(1))


def measure(stack, url, script, seconds, connections, threads, run_id):
    pids = stack.pids()
    before = stack.cpu_ticks()
    with MemorySampler(pids) as memory:
        w = wrk(url, script, seconds, connections, threads, run_id)
    after = stack.cpu_ticks()
    n = max(w["requests"], 1)
    run = {
        "rps": w["requests"] / (w["duration_us"] / 1e6),
        "p50_ms": w["p50_us"] / 1000, "p99_ms": w["p99_us"] / 1000, "max_ms": w["max_us"] / 1000,
        "errors": w["err_connect"] + w["err_read"] + w["err_write"] + w["err_timeout"] + w["err_status"],
        "requests": w["requests"],
    }
    for name in ("frontend", "backend", "postgres"):
        run[f"cpu_ms_per_req_{name}"] = (after[name] - before[name]) * 1000 / CLK_TCK / n
    for name in pids:
        peak = memory.peak[name]
        run[f"rss_mib_{name}"] = peak.get("VmRSS", 0) / 1024
        run[f"rss_anon_mib_{name}"] = peak.get("RssAnon", 0) / 1024
        run[f"pss_mib_{name}"] = peak.get("Pss", 0) / 1024
    return run


SCENARIOS = [
    # name, traced, script, faults, target daemon
    ("get_traced", True, "get-product.lua", None, "frontend"),
    ("post_traced", True, "post-order.lua", {"payment_latency_ms": 0}, "frontend"),
    ("post50_traced", True, "post-order.lua", {"payment_latency_ms": POST50_LATENCY_MS}, "frontend"),
    # The backend alone: its request model without the frontend's proxy in front.
    ("post_backend_traced", True, "post-order.lua", {"payment_latency_ms": 0}, "backend"),
    ("get_untraced", False, "get-product.lua", None, "frontend"),
    ("post_untraced", False, "post-order.lua", {"payment_latency_ms": 0}, "frontend"),
]


def run_scenarios(stack, args, log):
    results, dropped = {}, 0
    for traced in (True, False):
        stack.start(traced)
        for name, want_traced, script, faults, target in SCENARIOS:
            if want_traced != traced or (args.only and not re.search(args.only, name)):
                continue
            if faults is not None:
                stack.set_faults(faults)
            url = stack.frontend.url if target == "frontend" else stack.backend.url
            wrk(url, script, args.warmup, args.connections, args.threads, f"{name}-warm")
            runs = []
            for i in range(args.runs):
                runs.append(measure(stack, url, script, args.seconds, args.connections, args.threads, f"{name}-{i}"))
                log(f"{name} run {i + 1}: {runs[-1]['rps']:.0f} req/s p99 {runs[-1]['p99_ms']:.1f} ms "
                    f"errors {runs[-1]['errors']}")
            results[name] = runs
        if traced:
            time.sleep(SPAN_FLUSH_WAIT_S)
            dropped = stack.spans_dropped()
    stack.stop()
    return results, dropped


def statements_per_order(stack, n=STATEMENT_COUNT_ORDERS):
    """Statements per order while n orders are posted one after the other: round trips from the backend
    to PostgreSQL (log_statement=all on the throwaway cluster: every statement or prepared-statement
    execution the server logs is one), and every statement PostgreSQL executes for them, those inside
    functions and the foreign-key checks included (pg_stat_statements, track = all: the statements run
    at least n times; the sweeper's or a health check's now and then are not an order's)."""
    stack.start(traced=False)
    stack.set_faults({"payment_latency_ms": 0})
    stack.db.sql("ALTER SYSTEM SET log_statement = 'all'")
    stack.db.sql("ALTER SYSTEM SET pg_stat_statements.track = 'all'")
    stack.db.sql("SELECT pg_reload_conf()")
    time.sleep(0.5)
    stack.db.sql("SELECT pg_stat_statements_reset()")
    start = stack.pg.log.stat().st_size
    for i in range(n):
        request(stack.frontend.port, "POST", "/api/orders", {"user_id": 1 + i, "product_id": 1 + i, "quantity": 1},
                201, {"Idempotency-Key": f"count-{i}"})
    with open(stack.pg.log, "rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    nested = int(stack.db.scalar(f"SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE calls >= {n}"))
    stack.db.sql("ALTER SYSTEM RESET log_statement")
    stack.db.sql("ALTER SYSTEM SET pg_stat_statements.track = 'none'")
    stack.db.sql("SELECT pg_reload_conf()")
    stack.stop()
    executed = [ln for ln in text.splitlines() if re.search(r"LOG:  (statement|execute [^:]*):", ln)
                and "pg_reload_conf" not in ln and "pg_stat_statements" not in ln]
    return len(executed) / n, nested / n


def startup_figures(stack, n):
    """Extra restarts so that start→READY has a few samples (each start is measured anyway)."""
    for _ in range(n):
        stack.start(traced=False)
    stack.stop()


def otel_bench(build_dir):
    out = subprocess.run([str(build_dir / "bench" / "otel-bench"), "spans"], stdout=subprocess.PIPE, text=True,
                         timeout=300, check=True, env={k: v for k, v in os.environ.items()
                                                       if not k.startswith("OTEL_")})
    figures = {}
    for line in out.stdout.splitlines():
        k, sep, v = line.partition("=")
        if sep:
            try:
                figures[k] = float(v)
            except ValueError:
                pass
    return figures


def git_commit():
    out = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    return out.stdout.strip() or "unknown"


# ---- report --------------------------------------------------------------------------------------------

def summarise(results, dropped, ready_ms, ready_cpu_ms, micro, meta):
    fig = {}
    for name, runs in results.items():
        for key in runs[0]:
            vals = sorted(r[key] for r in runs)
            fig[f"{name}.{key}.min"] = vals[0]
            fig[f"{name}.{key}.median"] = statistics.median(vals)
            fig[f"{name}.{key}.max"] = vals[-1]
        med = fig[f"{name}.rps.median"]
        fig[f"{name}.rps.spread_pct"] = 100 * max(med - fig[f"{name}.rps.min"], fig[f"{name}.rps.max"] - med) / med
    for base in ("get", "post"):
        t, u = results.get(f"{base}_traced"), results.get(f"{base}_untraced")
        if t and u:
            cpu = lambda runs: statistics.median(  # noqa: E731
                sum(r[f"cpu_ms_per_req_{p}"] for p in ("frontend", "backend")) for r in runs)
            fig[f"{base}.tracing_cpu_overhead_pct"] = 100 * (cpu(t) / cpu(u) - 1) if cpu(u) else 0
            for p in ("frontend", "backend"):
                pt = statistics.median(r[f"cpu_ms_per_req_{p}"] for r in t)
                pu = statistics.median(r[f"cpu_ms_per_req_{p}"] for r in u)
                fig[f"{base}.tracing_cpu_overhead_pct.{p}"] = 100 * (pt / pu - 1) if pu else 0
            fig[f"{base}.tracing_rps_ratio"] = (statistics.median(r["rps"] for r in t)
                                                / statistics.median(r["rps"] for r in u))
    if "post50_traced" in results:
        bound = meta["connections"] * 1000 / POST50_LATENCY_MS
        fig["post50_traced.littles_law_bound_rps"] = bound
        fig["post50_traced.littles_law_pct"] = 100 * fig["post50_traced.rps.median"] / bound
    fig["spans_dropped"] = dropped
    for name, vals in ready_ms.items():
        if vals:
            fig[f"start_to_ready_ms.{name}.median"] = statistics.median(vals)
            fig[f"start_to_ready_ms.{name}.min"] = min(vals)
            fig[f"start_to_ready_ms.{name}.max"] = max(vals)
    for name, vals in ready_cpu_ms.items():
        if vals:
            fig[f"start_to_ready_cpu_ms.{name}.median"] = statistics.median(vals)
    for k, v in micro.items():
        fig[f"otel_bench.{k}"] = v
    return {"meta": meta, "figures": fig}


def table(results):
    cols = ("req/s", "p50 ms", "p99 ms", "max ms", "errors", "cpu-ms/req fe", "be", "pg", "RSS MiB fe", "be",
            "anon MiB fe", "be")
    keys = ("rps", "p50_ms", "p99_ms", "max_ms", "errors", "cpu_ms_per_req_frontend", "cpu_ms_per_req_backend",
            "cpu_ms_per_req_postgres", "rss_mib_frontend", "rss_mib_backend", "rss_anon_mib_frontend",
            "rss_anon_mib_backend")
    lines = ["| scenario (median of runs) | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, runs in results.items():
        cells = []
        for k in keys:
            vals = sorted(r[k] for r in runs)
            med = statistics.median(vals)
            if k == "rps":
                cells.append(f"{med:.0f} ({vals[0]:.0f}–{vals[-1]:.0f})")
            elif k == "errors":
                cells.append(f"{med:.0f}")
            elif k.startswith("cpu"):
                cells.append(f"{med:.3f}")
            else:
                cells.append(f"{med:.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", help="regular expression: run only the scenarios it matches")
    ap.add_argument("--no-micro", action="store_true", help="skip the otel-bench micro figures")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    def log(msg):
        print(f"bench: {msg}", file=sys.stderr, flush=True)

    t0 = time.monotonic()
    load_start = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="oteldemo-bench-"))
    stack = None
    try:
        stack = Stack(args.build_dir, workdir)
        results, dropped = run_scenarios(stack, args, log)
        startup_figures(stack, 3)
        per_order = statements_per_order(stack)
        ready, ready_cpu = stack.ready_ms, stack.ready_cpu_ms
    finally:
        if stack:
            stack.close()
        shutil.rmtree(workdir, ignore_errors=True)
    micro = {} if args.no_micro else otel_bench(args.build_dir)
    meta = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": git_commit(),
            "connections": args.connections, "wrk_threads": args.threads, "runs": args.runs,
            "seconds": args.seconds, "loadavg_1m_start": load_start,
            "loadavg_1m_end": os.getloadavg()[0], "cpus": os.cpu_count(),
            "elapsed_s": round(time.monotonic() - t0, 1)}
    report = summarise(results, dropped, ready, ready_cpu, micro, meta)
    report["figures"]["post.statements_per_order"], report["figures"]["post.statements_per_order_in_db"] = per_order
    if args.json:
        print(json.dumps(report, indent=1, sort_keys=True))
        return
    for k, v in meta.items():
        print(f"meta.{k}={v}")
    for k, v in report["figures"].items():
        print(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}")
    print()
    print(table(results))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
