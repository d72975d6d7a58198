# Shared fixtures of the integration tests: where the build is, the npm test tools, the independent
# OTLP receiver (otlp-receiver.js, which decodes with the OpenTelemetry JS generated code) and a way to
# run the test programs with a controlled OTEL_* environment. Also the small helpers every test module
# needs (free ports, a clean environment, OTLP attribute lists); pg.py and shop_stack.py build on them.
import json
import os
import selectors
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RECEIVER_JS = HERE / "otlp-receiver.js"
NPM_DEPS = HERE / "npm-deps.sh"

RECEIVER_START_TIMEOUT_S = 15
CONTROL_TIMEOUT_S = 10
POLL_INTERVAL_S = 0.05
DEFAULT_PROGRAM_TIMEOUT_S = 60


@pytest.fixture(scope="session")
def build_dir():
    path = Path(os.environ.get("OTELDEMO_BUILD_DIR", REPO / "build"))
    assert path.is_dir(), f"build directory {path} does not exist (set OTELDEMO_BUILD_DIR)"
    return path


def free_port():
    """A loopback TCP port that nothing listens on right now (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(extra=None, drop=()):
    """os.environ without the developer's OTEL_* settings (and the names in drop), then extra on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k not in drop}
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


def attr_dict(attrs):
    """OTLP KeyValue list → {key: AnyValue}, checking that no key is repeated."""
    out = {}
    for kv in attrs or []:
        assert kv["key"] not in out, f"duplicate attribute {kv['key']}"
        out[kv["key"]] = kv.get("value", {})
    return out


@pytest.fixture(scope="session")
def otlp_node_modules():
    """Installs (once, into a cache outside the tree) the npm test tools: the package the receiver
    decodes with and playwright-core for the browser test; returns their node_modules path."""
    out = subprocess.run(["bash", str(NPM_DEPS)], check=True, stdout=subprocess.PIPE, text=True)
    path = out.stdout.strip().splitlines()[-1]
    assert Path(path).is_dir(), f"npm-deps.sh printed {path!r}, which is not a directory"
    return path


class OtlpReceiver:
    """A running otlp-receiver.js; see the contract in tests/integration/otlp-receiver.js."""

    def __init__(self, node_modules, tls=None):
        """tls: None for plain HTTP, else {"cert", "key", "ca" (verifies the receiver), "client_cert",
        "client_key" and optionally "client_ca" (then client certificates are demanded)} as paths."""
        env = dict(os.environ, OTLP_NODE_MODULES=node_modules)
        self.ssl_context = None
        if tls:
            env.update(OTLP_TLS_CERT=str(tls["cert"]), OTLP_TLS_KEY=str(tls["key"]))
            if tls.get("client_ca"):
                env["OTLP_TLS_CLIENT_CA"] = str(tls["client_ca"])
            self.ssl_context = ssl.create_default_context(cafile=str(tls["ca"]))
            if tls.get("client_cert"):
                self.ssl_context.load_cert_chain(str(tls["client_cert"]), str(tls["client_key"]))
        self.proc = subprocess.Popen(["node", str(RECEIVER_JS)], env=env, stdout=subprocess.PIPE, text=True)
        try:
            self.port = self._read_port()
        except BaseException:
            self.close()
            raise
        self.endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def _read_port(self):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        ready = sel.select(RECEIVER_START_TIMEOUT_S)
        sel.close()
        assert ready, "otlp-receiver.js did not start in time"
        line = self.proc.stdout.readline().strip()
        word, _, port = line.partition(" ")
        assert word == "listening" and port.isdigit(), f"unexpected receiver greeting {line!r}"
        return int(port)

    def _control(self, method, path, payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.endpoint + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=CONTROL_TIMEOUT_S, context=self.ssl_context) as resp:
            return json.loads(resp.read())

    def script(self, entries):
        """Replaces the behaviour script: one entry is consumed per export request."""
        self._control("POST", "/control/script", list(entries))

    def requests(self):
        """Every export request received so far, in arrival order."""
        return self._control("GET", "/control/requests")

    def wait_for_requests(self, n, timeout=10.0):
        """Returns the recorded requests once there are at least n; fails the test after timeout s."""
        deadline = time.monotonic() + timeout
        while True:
            reqs = self.requests()
            if len(reqs) >= n:
                return reqs
            if time.monotonic() >= deadline:
                raise AssertionError(f"receiver got {len(reqs)} request(s), expected {n} within {timeout}s")
            time.sleep(POLL_INTERVAL_S)

    def reset(self):
        self._control("POST", "/control/reset")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


@pytest.fixture
def otlp_receiver(otlp_node_modules):
    receiver = OtlpReceiver(otlp_node_modules)
    try:
        yield receiver
    finally:
        receiver.close()


@pytest.fixture(scope="module", name="receiver")
def module_receiver(otlp_node_modules):
    """One receiver shared by the tests of a module that runs long-lived daemons against it."""
    receiver = OtlpReceiver(otlp_node_modules)
    try:
        yield receiver
    finally:
        receiver.close()


def run_program(path, env=None, timeout=DEFAULT_PROGRAM_TIMEOUT_S):
    """Runs a test program with the caller's env over a base without the developer's OTEL_* settings.

    Returns the CompletedProcess (stdout/stderr as text); the caller checks returncode."""
    return subprocess.run([str(path)], env=clean_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)


@pytest.fixture(name="run_program")
def run_program_fixture():
    """The same helper, for tests that prefer a fixture to an import."""
    return run_program


DECLARED_SKIPS = REPO / "tests/declared-skips.txt"


def declared_xfails():
    """{test id: reason} of the xfail lines of tests/declared-skips.txt (see that file)."""
    out = {}
    for line in DECLARED_SKIPS.read_text(encoding="utf-8").splitlines():
        fields = line.split(None, 2)
        if len(fields) == 3 and fields[0] == "xfail":
            out[fields[1]] = fields[2]
    return out


def pytest_collection_modifyitems(config, items):
    """Marks the declared known defects xfail(strict): they must fail until fixed, and the list stays
    the one place that names them."""
    xfails = declared_xfails()
    for item in items:
        reason = xfails.get(f"{Path(str(item.fspath)).name}::{item.name}")
        if reason:
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
