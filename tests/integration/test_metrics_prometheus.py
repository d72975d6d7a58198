# The Prometheus exposition checked by the real thing: a Debian `prometheus` server (started here on a
# free loopback port, exemplar storage on, 1 s scrape interval) scrapes tests/programs/otel-metrics-demo's
# /metrics, and the values, labels and exemplars are read back through Prometheus' HTTP API. The text
# format is also linted with `promtool check metrics`.
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from conftest import clean_env, free_port

PROGRAM = "tests/programs/otel-metrics-demo"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
START_TIMEOUT_S = 30
SCRAPE_TIMEOUT_S = 60
POLL_S = 0.25
HTTP_TIMEOUT_S = 10

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
SCOPE = {"otel_scope_name": "oteldemo-metrics-demo", "otel_scope_version": "1.0.0"}
TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OM_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

# No skip when Prometheus is missing: scripts/test installs Debian's package, and a missing server
# must fail the run rather than pass it quietly.


def http_get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
        return resp.headers.get("Content-Type"), resp.read().decode()


class Demo:
    """otel-metrics-demo in serve mode; runs until its stdin is closed."""

    def __init__(self, build_dir):
        env = clean_env({"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_TRACES_EXPORTER": "none",
                         "OTEL_LOGS_EXPORTER": "none"})
        self.proc = subprocess.Popen([str(build_dir / PROGRAM), "serve"], env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        bounds = json.loads(self.proc.stdout.readline())
        self.before_ns, self.after_ns = int(bounds["before_ns"]), int(bounds["after_ns"])
        word, _, port = self.proc.stdout.readline().strip().partition(" ")
        assert word == "listening", "otel-metrics-demo did not start"
        self.target = f"127.0.0.1:{port}"
        self.url = f"http://{self.target}/metrics"

    def close(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=HTTP_TIMEOUT_S) == 0
        self.proc.stdout.close()


class Prometheus:
    """A throwaway Prometheus server scraping one target every second."""

    def __init__(self, tmp_path, target):
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: demo\n"
            "    static_configs:\n"
            f"      - targets: ['{target}']\n")
        self.base = f"http://127.0.0.1:{free_port()}"
        self.log = open(tmp_path / "prometheus.log", "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address={self.base[len('http://'):]}", "--enable-feature=exemplar-storage"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "prometheus exited; see prometheus.log in the test's tmp_path"
            try:
                http_get(self.base + "/-/ready")
                return
            except OSError:
                time.sleep(POLL_S)
        raise AssertionError("prometheus did not become ready")

    def api(self, path, **params):
        _, body = http_get(f"{self.base}/api/v1/{path}?{urllib.parse.urlencode(params)}")
        reply = json.loads(body)
        assert reply["status"] == "success", reply
        return reply["data"]

    def query(self, promql):
        """The instant vector of promql once the first scrape has landed: {frozenset(labels): value}."""
        deadline = time.monotonic() + SCRAPE_TIMEOUT_S
        while True:
            result = self.api("query", query=promql)["result"]
            if result:
                return {frozenset(r["metric"].items()): float(r["value"][1]) for r in result}
            assert time.monotonic() < deadline, f"no samples for {promql}"
            time.sleep(POLL_S)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=HTTP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def demo(build_dir):
    d = Demo(build_dir)
    try:
        yield d
    finally:
        d.close()


@pytest.fixture
def prometheus(tmp_path, demo):
    p = Prometheus(tmp_path, demo.target)
    try:
        yield p
    finally:
        p.close()


def only_value(vector):
    (value,) = vector.values()
    return value


def labels_of(vector):
    (labels,) = vector.keys()
    return dict(labels)


def test_prometheus_reads_back_every_demo_value(demo, prometheus):
    q = prometheus.query
    get = q('http_server_requests_total{http_request_method="GET"}')
    assert only_value(get) == 3
    assert labels_of(get) == {"__name__": "http_server_requests_total", "http_request_method": "GET",
                              "http_response_status_code": "200", "job": "demo", "instance": demo.target, **SCOPE}
    assert only_value(q('http_server_requests_total{http_request_method="POST"}')) == 1
    assert only_value(q("shop_cart_items")) == 2.5
    assert only_value(q("process_cpu_utilization_ratio")) == 0.25
    assert only_value(q('shop_stock_level{product="a"}')) == 5
    assert only_value(q('shop_stock_level{product="b"}')) == 7
    assert only_value(q("shop_orders_created_total")) == 42

    buckets = {dict(k)["le"]: v for k, v in q('http_server_request_duration_seconds_bucket{http_route="/api/products"}').items()}
    assert buckets == {"0.005": 1, "0.01": 1, "0.025": 2, "0.05": 2, "0.075": 2, "0.1": 2, "0.25": 2, "0.5": 3,
                       "0.75": 3, "1": 3, "2.5": 3, "5": 3, "7.5": 3, "10": 3, "+Inf": 4}
    assert only_value(q("http_server_request_duration_seconds_count")) == 4
    assert only_value(q("http_server_request_duration_seconds_sum")) == pytest.approx(12.324)
    # a PromQL function over our buckets works as on any Prometheus histogram
    assert only_value(q("histogram_quantile(0.5, http_server_request_duration_seconds_bucket)")) == pytest.approx(0.025)

    target = labels_of(q("target_info"))
    assert target["service_name"] == "metrics-demo"
    assert target["service_version"] == "2.0.0"
    assert target["telemetry_sdk_language"] == "c"
    assert only_value(q("target_info")) == 1
    # the SDK's self-telemetry is scraped too
    assert only_value(q('otel_sdk_span_started_total{otel_scope_name="oteldemo-otel-sdk"}')) == 0


def test_prometheus_stores_the_exemplar_of_the_sampled_span(demo, prometheus):
    prometheus.query("http_server_request_duration_seconds_bucket")  # first scrape landed
    now = time.time()
    data = prometheus.api("query_exemplars", query="http_server_request_duration_seconds_bucket",
                          start=f"{now - 600:.3f}", end=f"{now + 60:.3f}")
    (series,) = data
    assert series["seriesLabels"]["le"] == "0.5"
    assert series["seriesLabels"]["http_route"] == "/api/products"
    (ex,) = series["exemplars"]
    assert ex["labels"] == {"trace_id": TRACE_ID, "span_id": SPAN_ID}
    assert float(ex["value"]) == 0.3
    # exemplar timestamps have millisecond resolution
    assert demo.before_ns // 1_000_000 <= round(float(ex["timestamp"]) * 1000) <= demo.after_ns // 1_000_000 + 1


def test_scrape_format_follows_the_accept_header(demo):
    ctype, text = http_get(demo.url)
    assert ctype == TEXT_CONTENT_TYPE
    assert "# EOF" not in text and " # {" not in text
    ctype, text = http_get(demo.url, {"Accept": "application/openmetrics-text;version=1.0.0,*/*;q=0.1"})
    assert ctype == OM_CONTENT_TYPE
    assert text.endswith("# EOF\n")
    assert f'# {{trace_id="{TRACE_ID}",span_id="{SPAN_ID}"}} 0.3 ' in text


def test_promtool_finds_nothing_to_complain_about(demo):
    _, text = http_get(demo.url)
    proc = subprocess.run([PROMTOOL, "check", "metrics"], input=text, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=HTTP_TIMEOUT_S)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout == ""
