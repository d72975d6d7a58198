# Prometheus over the running stack: spanmetrics of both services and the daemons' own metrics are
# stored; every alert expression of etc/prometheus/rules and every query of every dashboard panel
# returns data (so no metric or label name is misspelt); a latency bucket's exemplar names a trace
# that Jaeger returns; the payment-failure fault makes the error-ratio alert pending or firing.
import json
import re
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from conftest import REPO, http_json, wait_for

RULES = sorted((REPO / "etc/prometheus/rules").glob("*.yml"))
DASHBOARDS = sorted((REPO / "etc/grafana/dashboards").glob("*.json"))
# Grafana's built-in variables, as Grafana would expand them at a 2 s scrape interval.
GRAFANA_VARS = {"$__rate_interval": "30s", "$__interval": "2s", "$__range": "5m"}


def alert_rules():
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    yield pytest.param(rule, id=rule["alert"])


def panel_queries():
    for path in DASHBOARDS:
        dash = json.loads(path.read_text())
        for panel in dash["panels"]:
            for target in panel.get("targets", []):
                yield pytest.param(target["expr"], id=f"{path.stem}:{panel['id']}{target['refId']}:{panel['title']}")


def expand(expr):
    """A panel query as Grafana sends it: built-in variables by value, $service as all services."""
    for name, value in GRAFANA_VARS.items():
        expr = expr.replace(name, value)
    return expr.replace("$service", ".+")


def without_threshold(expr):
    """An alert expression less its final comparison: the series the alert looks at (the comparison
    only filters them, and a healthy stack must not pass it)."""
    m = re.match(r"^(.*\S)\s*(?:>|<|==|!=|>=|<=)\s*[0-9.e+-]+\s*$", expr.strip(), re.S)
    assert m, f"alert expression without a final threshold: {expr}"
    return m.group(1)


def test_spanmetrics_of_both_services_are_stored(stack, traffic):
    got = stack.prom_query('sum by (service_name) (traces_span_metrics_calls_total{span_kind="SPAN_KIND_SERVER"})')
    assert {r["metric"]["service_name"] for r in got} >= {"oteldemo-frontend", "oteldemo-backend"}


def test_the_daemons_metrics_are_scraped(stack, traffic):
    for job in ("oteldemo-frontend", "oteldemo-backend"):
        up = stack.prom_query(f'up{{job="{job}"}}')
        assert [r["value"][1] for r in up] == ["1"], job
        assert stack.prom_query(f'http_server_request_duration_seconds_count{{job="{job}"}}'), job
    assert stack.prom_query('db_client_operation_duration_seconds_count{job="oteldemo-backend"}')


def test_every_scrape_target_is_up(stack, traffic):
    got = {r["metric"]["job"]: r["value"][1] for r in stack.prom_query("up")}
    assert got == {job: "1" for job in ("oteldemo-frontend", "oteldemo-backend", "otelcol-spanmetrics", "otelcol",
                                        "jaeger", "zipkin", "prometheus")}


@pytest.mark.parametrize("rule", list(alert_rules()))
def test_alert_expression_returns_data(stack, payment_fault, rule):
    assert stack.prom_query(without_threshold(rule["expr"])), rule["expr"]


@pytest.mark.parametrize("expr", list(panel_queries()))
def test_dashboard_panel_query_returns_data(stack, payment_fault, expr):
    assert stack.prom_query(expand(expr)), expr


def exemplars(stack, query):
    now = time.time()
    q = urllib.parse.urlencode({"query": query, "start": now - 600, "end": now})
    doc = http_json(f"{stack.prometheus}/api/v1/query_exemplars?{q}")
    return [e for series in doc["data"] for e in series["exemplars"]]


@pytest.mark.parametrize("metric", ["traces_span_metrics_duration_milliseconds_bucket",
                                    'db_client_operation_duration_seconds_bucket{job="oteldemo-backend"}'])
def test_a_latency_exemplar_links_to_a_trace_jaeger_returns(stack, traffic, metric):
    found = wait_for(f"exemplars of {metric}", lambda: exemplars(stack, metric), timeout=30)
    ex = found[-1]
    trace_id = ex["labels"]["trace_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
    spans, _ = wait_for(f"trace {trace_id} in Jaeger", lambda: stack.jaeger_trace(trace_id), timeout=30)
    assert ex["labels"]["span_id"] in {s["spanID"] for s in spans}


def error_ratio_alert(stack):
    alerts = http_json(f"{stack.prometheus}/api/v1/alerts")["data"]["alerts"]
    return [a for a in alerts if a["labels"]["alertname"] == "OteldemoErrorRatioHigh"
            and a["labels"].get("span_name") == "payment.authorize" and a["state"] in ("pending", "firing")]


def test_payment_failures_make_the_error_ratio_alert_pending_or_firing(stack, traffic, payment_fault):
    got = wait_for("OteldemoErrorRatioHigh for payment.authorize", lambda: error_ratio_alert(stack), timeout=60)
    assert got[0]["labels"]["service_name"] == "oteldemo-backend"
    assert float(got[0]["value"]) > 0.05
