# The running stack for tests/stack: scripts/test-stack starts PostgreSQL, both daemons, the
# Collector, Jaeger, Zipkin and Prometheus on free loopback ports and passes them in STACK_*
# variables. These helpers query the real components' HTTP APIs; the session fixtures drive the
# traffic once (oteldemo load, one request with a known traceparent, a payment-failure window).
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HTTP_TIMEOUT_S = 10
LOAD_S = 30
LOAD_RATE = 8
FAULT_ORDERS_S = 20


def env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run tests/stack through scripts/test-stack")
    return value


def port(name):
    return int(env(name))


def http(url, method="GET", body=None, headers=None, timeout=HTTP_TIMEOUT_S):
    """(status, body bytes) of one request; HTTP errors are answers, not exceptions."""
    data = json.dumps(body).encode() if body is not None else None
    hdrs = dict(headers or {})
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_json(url, **kw):
    status, data = http(url, **kw)
    assert status == 200, f"{url}: {status} {data[:300]!r}"
    return json.loads(data)


def wait_for(what, fn, timeout=60, interval=1.0):
    """fn()'s first truthy result within timeout; fails naming what (and fn's last result)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"{what}: not within {timeout}s (last: {str(last)[:500]})")


class Stack:
    """The URLs of the running components."""

    def __init__(self):
        self.shop = f"http://127.0.0.1:{port('STACK_SHOP_PORT')}"
        self.backend = f"http://127.0.0.1:{port('STACK_BACKEND_PORT')}"
        self.jaeger = f"http://127.0.0.1:{port('STACK_JAEGER_PORT')}"
        self.zipkin = f"http://127.0.0.1:{port('STACK_ZIPKIN_PORT')}"
        self.prometheus = f"http://127.0.0.1:{port('STACK_PROMETHEUS_PORT')}"
        self.otelcol_metrics = f"http://127.0.0.1:{port('STACK_OTELCOL_METRICS_PORT')}/metrics"
        self.tmp = Path(env("STACK_TMP"))
        self.build = Path(env("STACK_BUILD_DIR"))
        self.token = env("STACK_ADMIN_TOKEN")
        self.otelcol_bin = env("STACK_OTELCOL_BIN")
        self.jaeger_bin = env("STACK_JAEGER_BIN")

    def cli(self):
        return str(self.build / "src/cli/oteldemo")

    def prom_query(self, expr):
        """The result vector of an instant query (fails on a query Prometheus rejects)."""
        q = urllib.parse.urlencode({"query": expr})
        doc = http_json(f"{self.prometheus}/api/v1/query?{q}")
        assert doc["status"] == "success", doc
        return doc["data"]["result"]

    def jaeger_trace(self, trace_id):
        """Jaeger's spans of trace_id as (spans, processes), or None while it has none."""
        status, data = http(f"{self.jaeger}/api/traces/{trace_id}")
        if status != 200:
            return None
        traces = json.loads(data).get("data") or []
        if not traces:
            return None
        return traces[0]["spans"], traces[0]["processes"]

    def zipkin_trace(self, trace_id):
        status, data = http(f"{self.zipkin}/api/v2/trace/{trace_id}")
        return json.loads(data) if status == 200 else None

    def set_faults(self, **faults):
        status, data = http(f"{self.backend}/admin/faults", method="PUT", body=faults,
                            headers={"Authorization": f"Bearer {self.token}"})
        assert status == 200, (status, data)


@pytest.fixture(scope="session")
def stack():
    return Stack()


def load(stack, seconds, mix="browse=70,order=20,user=10", rate=LOAD_RATE):
    """Runs oteldemo load through the frontend; returns the process (caller waits)."""
    env_ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env_["OTEL_SDK_DISABLED"] = "true"
    return subprocess.Popen([stack.cli(), "--url", stack.shop, "--output", "json", "load", "--rate", str(rate),
                             "--duration", f"{seconds}s", "--concurrency", "4", "--mix", mix, "--seed", "13"],
                            env=env_, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="session")
def traffic(stack):
    """~30 s of shop load, and one product request with a known traceparent in the middle of it.
    Returns the known trace id and the caller's span id."""
    proc = load(stack, LOAD_S)
    trace_id = secrets.token_hex(16)
    parent_id = secrets.token_hex(8)
    time.sleep(LOAD_S / 2)
    status, _ = http(f"{stack.shop}/api/products/42",
                     headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
    assert status == 200
    out, err = proc.communicate(timeout=LOAD_S + 60)
    assert proc.returncode == 0, err[-2000:]
    summary = json.loads(out)
    # A few seconds for the last batches, the spanmetrics flush and a scrape.
    time.sleep(6)
    return {"trace_id": trace_id, "parent_id": parent_id, "load": summary}


@pytest.fixture(scope="session")
def payment_fault(stack, traffic):
    """Every payment declined while orders come in for FAULT_ORDERS_S seconds; the flag is reset
    afterwards. Returns when the orders are done."""
    stack.set_faults(payment_failure_rate=1)
    try:
        proc = load(stack, FAULT_ORDERS_S, mix="order=100", rate=4)
        out, err = proc.communicate(timeout=FAULT_ORDERS_S + 60)
        assert proc.returncode == 0, err[-2000:]
    finally:
        stack.set_faults(payment_failure_rate=0)
    time.sleep(6)
    return json.loads(out)
