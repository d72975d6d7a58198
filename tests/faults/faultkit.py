# Helpers of the fault tests (see conftest.py for the fixtures built on them): the running shop, the
# load generator in the background with its record, raw HTTP, table checksums, /metrics, process
# figures, and test-made OTLP endpoints that misbehave (hang, answer an error status).
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


class HangingEndpoint:
    """A loopback listener that accepts every connection and never answers (nor closes) it."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        self.stopping = True
        self.sock.close()
        for c in self.conns:
            c.close()


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


def stop_process(proc, sig=signal.SIGKILL):
    if proc.poll() is None:
        proc.send_signal(sig)
        proc.wait(timeout=15)


__all__ = ["Shop", "running_shop", "LoadRun", "percentile", "raw_http", "table_checksum", "prometheus_values",
           "proc_rss_kb", "proc_fd_count", "wait_until", "healthy", "HangingEndpoint", "StatusEndpoint",
           "wait_http", "stop_process"]
