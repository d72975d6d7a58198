# The running shop for the integration tests: oteldemo-backend over a throwaway PostgreSQL database and
# oteldemo-frontend in front of it, each started with a temp config and a NOTIFY_SOCKET the test reads
# READY=1 from, exporting to the independent OTLP receiver. Plain helpers (no fixtures), so that test
# modules choose the scope they need.
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
WWW_DIR = REPO / "www"
DB_DIR = REPO / "db"

READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 15
HTTP_TIMEOUT_S = 15
MIGRATE_TIMEOUT_S = 120
# Short export delays so that spans reach the receiver while the test waits.
TELEMETRY_ENV = {
    "OTEL_BSP_SCHEDULE_DELAY": "100",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}


def free_port():
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path, sections):
    """Writes an INI file from {section: {key: value}}."""
    lines = []
    for section, keys in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {v}" for k, v in keys.items())
        lines.append("")
    Path(path).write_text("\n".join(lines))
    return Path(path)


def daemon_env(receiver=None, **extra):
    """The environment of a daemon: no developer OTEL_* settings, export to receiver (or nowhere)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k != "NOTIFY_SOCKET"}
    env.update(TELEMETRY_ENV)
    if receiver is not None:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
    else:
        env["OTEL_TRACES_EXPORTER"] = "none"
    env.update({k: str(v) for k, v in extra.items()})
    return env


_daemon_runs = itertools.count(1)


class Daemon:
    """One daemon process with its own NOTIFY_SOCKET; output goes to a log file in its work dir."""

    def __init__(self, argv, env, workdir, name):
        self.name = name
        self.workdir = Path(workdir)
        run = next(_daemon_runs)  # a restarted daemon gets its own log and socket
        self.log_path = self.workdir / f"{name}-{run}.log"
        self.notify_path = self.workdir / f"{name}-{run}.notify"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.messages = []
        env = dict(env, NOTIFY_SOCKET=str(self.notify_path))
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(a) for a in argv], env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def log_text(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_for_notify(self, word, timeout=READY_TIMEOUT_S):
        """Waits for a notification line such as READY=1; fails (with the log) if the daemon exits."""
        deadline = time.monotonic() + timeout
        while True:
            if any(word in m for m in self.messages):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_text()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.name} sent no {word} within {timeout}s:\n{self.log_text()}")
            self.notify.settimeout(min(left, 0.2))
            try:
                data = self.notify.recv(4096)
            except socket.timeout:
                continue
            self.messages.extend(data.decode(errors="replace").splitlines())

    def drain_notify(self):
        """Reads the notifications still queued; returns all received so far, one per line."""
        self.notify.setblocking(False)
        try:
            while True:
                self.messages.extend(self.notify.recv(4096).decode(errors="replace").splitlines())
        except BlockingIOError:
            pass
        finally:
            self.notify.setblocking(True)
        return self.messages

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
        """Sends sig and returns the exit status (kills after timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def close(self):
        self.stop(signal.SIGKILL if self.proc.poll() is None else signal.SIGTERM)
        self.log.close()
        self.notify.close()


def request(port, method, path, body=None, headers=None, timeout=HTTP_TIMEOUT_S):
    """One HTTP request to 127.0.0.1:port; returns (status, {lowercased header: value}, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict({"Content-Type": "application/json"}, **(headers or {}))
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def request_json(port, method, path, body=None, headers=None, timeout=HTTP_TIMEOUT_S):
    status, hdrs, data = request(port, method, path, body, headers, timeout)
    return status, hdrs, (json.loads(data) if data else None)


def wait_http(port, path="/healthz", timeout=READY_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, _, _ = request(port, "GET", path, timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise AssertionError(f"127.0.0.1:{port}{path} did not answer 200 within {timeout}s")
        time.sleep(0.1)


class Backend:
    """oteldemo-backend over database db (a pg.PgDatabase), migrated with the sample data."""

    def __init__(self, build_dir, db, workdir, receiver=None, port=None, **env):
        self.binary = Path(build_dir) / "src/backend/oteldemo-backend"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(workdir)
        self.config = write_config(self.workdir / "backend.conf", {
            "server": {"listen": f"127.0.0.1:{self.port}", "threads": 8},
            "database": {"conninfo": db.conninfo, "pool_size": 8, "migrations_dir": DB_DIR},
        })
        self.env = daemon_env(receiver, **env)
        self.daemon = None

    def migrate(self):
        out = subprocess.run([str(self.binary), "--config", str(self.config), "--migrate"], env=self.env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=MIGRATE_TIMEOUT_S)
        assert out.returncode == 0, f"--migrate failed ({out.returncode}):\n{out.stdout}"

    def start(self):
        self.daemon = Daemon([self.binary, "--config", self.config], self.env, self.workdir, "backend")
        self.daemon.wait_for_notify("READY=1")
        return self

    def close(self):
        if self.daemon:
            self.daemon.close()


class Frontend:
    """oteldemo-frontend in front of backend_url, serving www_dir."""

    def __init__(self, build_dir, backend_url, workdir, receiver=None, www_dir=WWW_DIR, port=None,
                 timeout_ms=3000, connect_timeout_ms=500, jaeger_url=None, **env):
        self.binary = Path(build_dir) / "src/frontend/oteldemo-frontend"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(workdir)
        sections = {
            "server": {"listen": f"127.0.0.1:{self.port}", "www_dir": www_dir, "threads": 8},
            "backend": {"url": backend_url, "timeout_ms": timeout_ms, "connect_timeout_ms": connect_timeout_ms},
        }
        if jaeger_url:
            sections["ui"] = {"jaeger_url": jaeger_url}
        self.config = write_config(self.workdir / "frontend.conf", sections)
        self.env = daemon_env(receiver, **env)
        self.daemon = None

    def start(self):
        self.daemon = Daemon([self.binary, "--config", self.config], self.env, self.workdir, "frontend")
        self.daemon.wait_for_notify("READY=1")
        return self

    def get(self, path, headers=None):
        return request(self.port, "GET", path, headers=headers)

    def close(self):
        if self.daemon:
            self.daemon.close()


def workdir():
    return Path(tempfile.mkdtemp(prefix="oteldemo-shop-"))


# ---- decoded spans ---------------------------------------------------------------------------------

def _attr_value(v):
    for key in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if key in v:
            return int(v[key]) if key == "intValue" else v[key]
    return v


def attrs_of(items):
    return {a["key"]: _attr_value(a.get("value", {})) for a in items or []}


def decoded_spans(receiver):
    """Every span the receiver decoded, flattened: dict with service, name, kind, ids, attrs, status."""
    out = []
    for req in receiver.requests():
        if req.get("path") != "/v1/traces" or not req.get("decoded"):
            continue
        for rs in req["decoded"].get("resourceSpans", []):
            service = attrs_of(rs.get("resource", {}).get("attributes")).get("service.name")
            for ss in rs.get("scopeSpans", []):
                for s in ss.get("spans", []):
                    out.append({
                        "service": service,
                        "name": s.get("name"),
                        "kind": s.get("kind", 0),
                        "trace_id": s.get("traceId"),
                        "span_id": s.get("spanId"),
                        "parent": s.get("parentSpanId") or "",
                        "attrs": attrs_of(s.get("attributes")),
                        "status": s.get("status", {}).get("code", 0),
                    })
    return out


def wait_for_spans(receiver, trace_id, predicate, timeout=15):
    """The spans of trace_id once predicate(spans) holds; fails with what arrived after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        spans = [s for s in decoded_spans(receiver) if s["trace_id"] == trace_id]
        if predicate(spans):
            return spans
        if time.monotonic() >= deadline:
            raise AssertionError(f"spans of {trace_id} incomplete after {timeout}s: "
                                 + json.dumps([(s["service"], s["name"], s["kind"]) for s in spans]))
        time.sleep(0.1)
