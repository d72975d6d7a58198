# Helpers of the fault tests (see conftest.py for the fixtures built on them): the running shop, the
# load generator in the background with its record, raw HTTP, table checksums, /metrics, process
# figures, the real Collector as an OTLP endpoint to kill or freeze, and test-made OTLP endpoints that
# misbehave in a way a real Collector does not on demand (answer an error status).
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import shop_stack
from shop_stack import LocalHttpServer, Shop, request, wait_http

LOAD_TIMEOUT_S = 120
RAW_TIMEOUT_S = 10
SHOP_TABLES = {  # every table the shop writes, each with its full ordering key
    "users": "id", "products": "id", "orders": "id", "order_items": "order_id, product_id",
}


class _Exporter:
    """What Backend/Frontend take as receiver: an object with .endpoint."""

    def __init__(self, endpoint):
        self.endpoint = endpoint


def running_shop(build_dir, pg_cluster, backend_config=None, frontend=True, backend_env=None,
                 frontend_args=None, otlp_endpoint=None):
    """shop_stack.running_shop exporting to otlp_endpoint (a URL) or nowhere; a test that stopped the
    shared server must not break the next, so pg_cluster is started again first when it is down."""
    if not pg_cluster.running():
        pg_cluster.start()
    exporter = _Exporter(otlp_endpoint) if otlp_endpoint else None
    return shop_stack.running_shop(build_dir, pg_cluster, exporter, backend_config=backend_config,
                                   frontend=frontend, backend_env=backend_env, **(frontend_args or {}))


class LoadRun:
    """`oteldemo load --output json --record FILE` running in the background."""

    def __init__(self, cli_path, url, record, rate=50, duration="5s", mix="browse=60,order=30,user=10",
                 retries=0, concurrency=8, seed=1, timeout_s="10s"):
        self.record = Path(record)
        argv = [str(cli_path), "--url", url, "--output", "json", "--timeout", timeout_s, "load",
                "--rate", str(rate), "--duration", str(duration), "--mix", mix, "--retries", str(retries),
                "--concurrency", str(concurrency), "--seed", str(seed), "--record", str(self.record)]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OTELDEMO_"))}
        env["OTEL_SDK_DISABLED"] = "true"
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def t0(self, timeout=30):
        """The monotonic time of the schedule's start (start_ms 0), estimated from the first request to
        finish: the record has its intended start and latency, written as it finished."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.record.read_text() if self.record.exists() else ""
            now = time.monotonic()
            if "\n" in text:
                first = json.loads(text.splitlines()[0])
                return now - (first["start_ms"] + first["latency_ms"]) / 1000.0
            assert now < deadline and self.proc.poll() is None, "oteldemo load recorded no request"
            time.sleep(0.005)

    def result(self, timeout=LOAD_TIMEOUT_S):
        """(summary, record lines) once the run has ended; fails unless it exited 0."""
        out, err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, f"oteldemo load exited {self.proc.returncode}: {err}"
        lines = [json.loads(line) for line in self.record.read_text().splitlines()]
        return json.loads(out), lines

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def percentile(values, p):
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    assert ordered, "no values"
    rank = max(1, int(round(p / 100.0 * len(ordered) + 0.5)))
    return ordered[min(rank, len(ordered)) - 1]


def raw_http(port, data, timeout=RAW_TIMEOUT_S, half_close=True):
    """Sends data (bytes) on a fresh connection to 127.0.0.1:port and reads until the server closes or
    stops sending; returns (status or None, every byte received)."""
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before it has read everything (EPIPE, ENOTCONN)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", got)
    return (int(m.group(1)) if m else None), got


def table_checksum(db):
    """md5 of every shop table's rows in key order, so that any change to the data changes it."""
    h = hashlib.md5()
    for table, key in SHOP_TABLES.items():
        for row in db.sql(f"SELECT t::text FROM {table} t ORDER BY {key}"):
            h.update(row[0].encode() + b"\n")
        h.update(b"--\n")
    return h.hexdigest()


_SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def prometheus_values(port, name):
    """{label text: value} of the samples of metric name on 127.0.0.1:port/metrics."""
    status, _, body = request(port, "GET", "/metrics")
    assert status == 200, status
    out = {}
    for line in body.decode().splitlines():
        m = _SAMPLE_RE.match(line)
        if m and m.group(1) == name:
            out[m.group(2) or ""] = float(m.group(3))
    return out


def proc_rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def proc_fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Polls predicate until it is true; returns the seconds it took, fails after timeout."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - start


def healthy(port, path="/healthz"):
    try:
        return request(port, "GET", path, timeout=2)[0] == 200
    except OSError:
        return False


class StatusEndpoint(LocalHttpServer):
    """An OTLP/HTTP stand-in answering every POST with .status (settable), counting the requests per
    status it answered; the fault injector for 'the Collector answers 503 for minutes'."""

    def __init__(self, status):
        self.status = status
        self.answered = {}
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with owner.lock:
                    status = owner.status
                    owner.answered[status] = owner.answered.get(status, 0) + 1
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(Handler)

    def count(self, status):
        with self.lock:
            return self.answered.get(status, 0)


# The real Collector's test-only config: OTLP/HTTP in, every span to a JSON-lines file (OTLP JSON, one
# ExportTraceServiceRequest a line) named by SPANS_FILE, readiness on the health_check extension, its
# own metrics (otelcol_receiver_accepted_spans_total, ...) on a Prometheus port.
COLLECTOR_CONFIG = """\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp_port}
exporters:
  file/spans:
    path: ${{env:SPANS_FILE}}
    format: json
    flush_interval: 100ms
extensions:
  health_check:
    endpoint: 127.0.0.1:{health_port}
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file/spans]
  telemetry:
    logs:
      level: warn
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {metrics_port}
"""
COLLECTOR_READY_TIMEOUT_S = 60


class Collector:
    """The real OpenTelemetry Collector (the project's oteldemo-otelcol build) on free loopback ports,
    with COLLECTOR_CONFIG in workdir. It can be killed and started again on the same ports (each
    start writes its own spans file and log), or frozen (SIGSTOP: the kernel still completes the TCP
    handshake and queues the requests, nothing answers) and thawed."""

    def __init__(self, binary, workdir):
        self.binary = str(binary)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.otlp_port, self.health_port, self.metrics_port = free_ports(3)
        self.url = f"http://127.0.0.1:{self.otlp_port}"
        self.config = self.workdir / "otelcol.yaml"
        self.config.write_text(COLLECTOR_CONFIG.format(otlp_port=self.otlp_port, health_port=self.health_port,
                                                       metrics_port=self.metrics_port))
        self.starts = 0
        self.proc = None
        self.log = None

    def start(self):
        self.starts += 1
        self.log = open(self.workdir / f"otelcol-{self.starts}.log", "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env["SPANS_FILE"] = str(self.workdir / f"spans-{self.starts}.jsonl")
        self.proc = subprocess.Popen([self.binary, "--config", str(self.config)], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + COLLECTOR_READY_TIMEOUT_S
        while not healthy(self.health_port, "/"):
            assert self.proc.poll() is None, f"the Collector exited {self.proc.returncode}: {self.log_text()}"
            assert time.monotonic() < deadline, f"the Collector not ready in {COLLECTOR_READY_TIMEOUT_S}s: {self.log_text()}"
            time.sleep(0.05)
        return self

    def log_text(self):
        self.log.flush()
        return "".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.workdir.glob("otelcol-*.log")))

    def kill(self):
        stop_process(self.proc)
        self.log.close()

    def freeze(self):
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.proc.send_signal(signal.SIGCONT)

    def accepted_spans(self):
        """otelcol_receiver_accepted_spans_total of the running process (since its start)."""
        return sum(prometheus_values(self.metrics_port, "otelcol_receiver_accepted_spans_total").values())

    def trace_ids(self):
        """The trace id (hex) of every span in the spans files so far, with how many spans each has."""
        out = {}
        for path in sorted(self.workdir.glob("spans-*.jsonl")):
            for line in path.read_text().splitlines():
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue  # the last line of a killed process, cut short
                for rs in doc.get("resourceSpans", []):
                    for ss in rs.get("scopeSpans", []):
                        for span in ss.get("spans", []):
                            out[span["traceId"]] = out.get(span["traceId"], 0) + 1
        return out

    def close(self):
        if self.proc:
            self.kill()  # SIGKILL ends a frozen process too


def free_ports(n):
    """n distinct loopback ports that nothing listens on right now."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def stop_process(proc, sig=signal.SIGKILL):
    if proc.poll() is None:
        proc.send_signal(sig)
        proc.wait(timeout=15)


__all__ = ["Shop", "running_shop", "LoadRun", "percentile", "raw_http", "table_checksum", "prometheus_values",
           "proc_rss_kb", "proc_fd_count", "wait_until", "healthy", "StatusEndpoint",
           "Collector", "free_ports", "wait_http", "stop_process"]
