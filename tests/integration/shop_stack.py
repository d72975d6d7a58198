# The running shop for the integration tests: oteldemo-backend over a throwaway PostgreSQL database and
# oteldemo-frontend in front of it, each started with a temp config and a NOTIFY_SOCKET the test reads
# READY=1 from, exporting to the independent OTLP receiver; plus the spans the receiver decoded,
# flattened, and a local HTTP server for stand-ins. Plain helpers (no fixtures), so that test modules
# choose the scope they need.
import contextlib
import http.client
import http.server
import itertools
import json
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from conftest import REPO, clean_env, free_port, program_argv, scaled  # noqa: F401  (re-exported for the test modules)

WWW_DIR = REPO / "www"
DB_DIR = REPO / "db"

READY_TIMEOUT_S = scaled(30)
STOP_TIMEOUT_S = scaled(15)
HTTP_TIMEOUT_S = scaled(15)
MIGRATE_TIMEOUT_S = scaled(120)
# Short export delays so that spans reach the receiver while the test waits.
TELEMETRY_ENV = {
    "OTEL_BSP_SCHEDULE_DELAY": "100",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}


def write_config(path, sections):
    """Writes an INI file from {section: {key: value}}, readable by its owner only (the daemons refuse
    an inline token in a file others may read); a section that is None is left out."""
    lines = []
    for section, keys in sections.items():
        if keys is None:
            continue
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {v}" for k, v in keys.items())
        lines.append("")
    Path(path).touch(mode=0o600)
    Path(path).chmod(0o600)
    Path(path).write_text("\n".join(lines))
    return Path(path)


def daemon_env(receiver=None, **extra):
    """The environment of a daemon: no developer OTEL_* settings, export to receiver (or nowhere)."""
    env = clean_env(TELEMETRY_ENV, drop=("NOTIFY_SOCKET",))
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
        self.proc = subprocess.Popen(program_argv(argv), env=env, stdout=self.log, stderr=subprocess.STDOUT)

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

    def wait_for_log(self, text, timeout=10):
        """Waits for text in the daemon's output; fails (with the log) if it exits or the time is up."""
        deadline = time.monotonic() + scaled(timeout)
        while text not in self.log_text():
            assert time.monotonic() < deadline and self.proc.poll() is None, self.log_text()
            time.sleep(0.05)

    def drain_notify(self):
        """Reads the notifications still queued (also after the daemon exited); returns all received so
        far, one per line."""
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
            status, _, _ = request(port, "GET", path, timeout=scaled(2))
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise AssertionError(f"127.0.0.1:{port}{path} did not answer 200 within {timeout}s")
        time.sleep(0.1)


def merge_sections(base, override):
    """base config sections with override's keys on top, section by section; an override section that
    is None removes the section."""
    out = {name: dict(keys) for name, keys in base.items()}
    for name, keys in (override or {}).items():
        if keys is None:
            out.pop(name, None)
        else:
            out.setdefault(name, {}).update(keys)
    return out


class Backend:
    """oteldemo-backend over database db (a pg.PgDatabase, or a conninfo string), migrated with the
    sample data; config is merged over the default sections (see merge_sections)."""

    def __init__(self, build_dir, db, workdir, receiver=None, port=None, config=None, **env):
        self.binary = Path(build_dir) / "src/backend/oteldemo-backend"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(workdir)
        self.sections = merge_sections({
            "server": {"listen": f"127.0.0.1:{self.port}", "threads": 8},
            "database": {"conninfo": db if isinstance(db, str) else db.conninfo, "pool_size": 8,
                         "migrations_dir": DB_DIR},
        }, config)
        self.config = write_config(self.workdir / "backend.conf", self.sections)
        self.env = daemon_env(receiver, **env)
        self.daemon = None

    def rewrite_config(self, override):
        """Rewrites the config file as the sections given at start-up with override on top (for SIGHUP)."""
        write_config(self.config, merge_sections(self.sections, override))

    def run(self, *args, timeout=MIGRATE_TIMEOUT_S):
        """Runs the binary once with this config (--migrate, --check-config, ...), output merged."""
        return subprocess.run(program_argv([self.binary, "--config", self.config, *args]), env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)

    def migrate(self):
        out = self.run("--migrate")
        assert out.returncode == 0, f"--migrate failed ({out.returncode}):\n{out.stdout}"

    def start(self, wait_ready=True):
        self.daemon = Daemon([self.binary, "--config", self.config], self.env, self.workdir, "backend")
        if wait_ready:
            self.daemon.wait_for_notify("READY=1")
        return self

    def req(self, method, path, body=None, headers=None):
        """request_json() to this backend."""
        return request_json(self.port, method, path, body, headers)

    def close(self):
        if self.daemon:
            self.daemon.close()


class Frontend:
    """oteldemo-frontend in front of backend_url, serving www_dir; config is merged over the default
    sections (see merge_sections)."""

    def __init__(self, build_dir, backend_url, workdir, receiver=None, www_dir=WWW_DIR, port=None,
                 timeout_ms=3000, connect_timeout_ms=500, jaeger_url=None, config=None, **env):
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
        self.config = write_config(self.workdir / "frontend.conf", merge_sections(sections, config))
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


class Shop:
    """A running backend + frontend (or None) over database db."""

    def __init__(self, backend, frontend, db):
        self.backend = backend
        self.frontend = frontend
        self.db = db


def credentials_dir(parent, secrets):
    """A systemd-style $CREDENTIALS_DIRECTORY under parent (0700) with {name: value} as 0600 files."""
    path = Path(parent) / "credentials"
    path.mkdir(mode=0o700)
    for name, value in secrets.items():
        (path / name).touch(mode=0o600)
        (path / name).write_text(value + "\n")
    return path


@contextlib.contextmanager
def running_shop(build_dir, pg_cluster, receiver, backend_config=None, credentials=None, frontend=True,
                 backend_env=None, **frontend_args):
    """A Shop over a fresh migrated database of pg_cluster, both daemons exporting to receiver; all
    of it stopped and removed on exit. credentials ({name: value}, e.g. the write-token) become both
    daemons' $CREDENTIALS_DIRECTORY; backend_env ({name: value}) is more of the backend's environment;
    frontend=False starts the backend alone; frontend_args go to Frontend (www_dir, timeout_ms, ...)."""
    wd = workdir()
    db = pg_cluster.create_database()
    creds = {"CREDENTIALS_DIRECTORY": credentials_dir(wd, credentials)} if credentials else {}
    backend = Backend(build_dir, db, wd, receiver, config=backend_config, **creds, **(backend_env or {}))
    fe = None
    try:
        backend.migrate()
        backend.start()
        if frontend:
            fe = Frontend(build_dir, backend.url, wd, receiver, **creds, **frontend_args).start()
        yield Shop(backend, fe, db)
    finally:
        if fe:
            fe.close()
        backend.close()
        shutil.rmtree(wd, ignore_errors=True)


class _BackloggedHttpServer(http.server.ThreadingHTTPServer):
    # socketserver's listen backlog of 5 drops the SYNs of a burst of connections (they are retried a
    # second later, past any connect timeout of a test).
    request_queue_size = 128


class LocalHttpServer:
    """A ThreadingHTTPServer on a loopback port, serving handler_class from a background thread."""

    def __init__(self, handler_class):
        self.server = _BackloggedHttpServer(("127.0.0.1", 0), handler_class)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


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
    deadline = time.monotonic() + scaled(timeout)
    while True:
        spans = [s for s in decoded_spans(receiver) if s["trace_id"] == trace_id]
        if predicate(spans):
            return spans
        if time.monotonic() >= deadline:
            raise AssertionError(f"spans of {trace_id} incomplete after {timeout}s: "
                                 + json.dumps([(s["service"], s["name"], s["kind"]) for s in spans]))
        time.sleep(0.1)
