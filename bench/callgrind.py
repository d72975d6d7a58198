# SPDX-License-Identifier: Apache-2.0
# Instructions per request of oteldemo-backend, counted by callgrind: figures a shared, noisy machine
# does not disturb (wrk's are). A throwaway PostgreSQL over its Unix socket and bench/otlp-sink as in
# bench.py; the backend runs under `valgrind --tool=callgrind`; after a warm-up the counters are zeroed
# (callgrind_control -z), N requests go over one keep-alive connection, the counters are dumped
# (callgrind_control -d) and the dump's total, every thread's, is divided by N. One name=value line per
# figure; the dumps stay in --out for callgrind_annotate.
#
#   /usr/bin/python3 bench/callgrind.py --build-dir build [--requests 2000] [--out DIR]
#
# Use a debugoptimized build (the default `meson setup build`), not one with sanitizers.
import argparse
import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

from bench import BENCH_STOCK, OtlpSink, SAMPLE_PRODUCTS, SAMPLE_USERS  # noqa: E402
from pg import PgCluster  # noqa: E402
from shop_stack import Backend, free_port, write_config  # noqa: E402

WARMUP_REQUESTS = 200
READY_TIMEOUT_S = 120  # valgrind starts slowly
# Traced: the SDK's defaults (traces, metrics and logs exported over OTLP, spec batch delays), every
# request sampled; untraced: the SDK off.
MODES = {
    "traced": {"OTEL_TRACES_SAMPLER": "always_on", "OTEL_BSP_SCHEDULE_DELAY": "5000", "OTEL_LOGS_EXPORTER": "otlp",
               "OTEL_METRICS_EXPORTER": "otlp"},
    "untraced": {"OTEL_SDK_DISABLED": "true"},
}


def drive(port, kind, n, tag):
    """n requests of kind (get|post) over one keep-alive connection; fails on any non-2xx."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for i in range(n):
            if kind == "get":
                conn.request("GET", f"/api/products/{1 + i % SAMPLE_PRODUCTS}")
            else:
                body = {"user_id": 1 + i % SAMPLE_USERS, "product_id": 1 + (i * 7) % SAMPLE_PRODUCTS, "quantity": 1}
                conn.request("POST", "/api/orders", body=json.dumps(body),
                             headers={"Content-Type": "application/json", "Idempotency-Key": f"{tag}-{i}"})
            resp = conn.getresponse()
            resp.read()
            if resp.status >= 300:
                raise RuntimeError(f"{kind} answered {resp.status}")
    finally:
        conn.close()


def wait_healthy(port, proc):
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the backend under valgrind exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the backend under valgrind did not answer")


def total_ir(dump):
    out = subprocess.run(["callgrind_annotate", "--threshold=100", "--auto=no", str(dump)], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"^\s*([\d,]+)\s+\(100\.0%\)\s+PROGRAM TOTALS", out, re.M)
    if not m:
        raise RuntimeError(f"no total in {dump}")
    return int(m.group(1).replace(",", ""))


def measure(backend, mode, kind, n, out):
    """Instructions per request of kind in mode (traced|untraced)."""
    dump = out / f"callgrind.{kind}.{mode}.out"
    env = dict(backend.env, **MODES[mode])
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}", str(backend.binary),
                             "--config", str(backend.config)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_healthy(backend.port, proc)
        drive(backend.port, kind, WARMUP_REQUESTS, f"warm-{mode}-{time.time_ns()}")
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        drive(backend.port, kind, n, f"{mode}-{time.time_ns()}")
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    return total_ir(Path(f"{dump}.1")) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", type=Path, required=True)
    ap.add_argument("--requests", type=int, default=2000, help="GETs per mode (POSTs: half as many)")
    ap.add_argument("--out", type=Path, help="keep the callgrind dumps here (default: a temp dir, removed)")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="oteldemo-callgrind-"))
    out = args.out or workdir
    out.mkdir(parents=True, exist_ok=True)
    pg = sink = None
    try:
        sink = OtlpSink(args.build_dir)
        pg = PgCluster()
        db = pg.create_database("callgrind")
        conninfo = f"host={pg.sockets} port={pg.port} user={pg.user} dbname={db.name}"
        backend = Backend(args.build_dir, conninfo, workdir, sink, port=free_port(),
                          config={"payment": {"latency_min_ms": 0, "latency_jitter_ms": 0}})
        backend.migrate()
        db.sql(f"UPDATE products SET stock = {BENCH_STOCK}")
        write_config(backend.config, backend.sections)
        fig = {}
        for kind, n in (("get", args.requests), ("post", max(args.requests // 2, 1))):
            for mode in MODES:
                fig[f"callgrind.{kind}.{mode}.ir_per_request"] = measure(backend, mode, kind, n, out)
                print(f"callgrind.{kind}.{mode}.ir_per_request={fig[f'callgrind.{kind}.{mode}.ir_per_request']:.0f}",
                      flush=True)
            t, u = fig[f"callgrind.{kind}.traced.ir_per_request"], fig[f"callgrind.{kind}.untraced.ir_per_request"]
            print(f"callgrind.{kind}.tracing_overhead_pct={100 * (t / u - 1):.1f}", flush=True)
    finally:
        if pg:
            pg.close()
        if sink:
            sink.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
