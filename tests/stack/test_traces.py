# One request with a known traceparent, through the Collector into Jaeger and Zipkin: the same trace,
# with spans of both daemons and the database, every parent present. The Collector's own metrics
# account for the spans: accepted, sent to both backends, none refused or failed.
import re

from conftest import http, wait_for

SERVICES = {"oteldemo-frontend", "oteldemo-backend"}


def jaeger_complete(stack, trace_id):
    got = stack.jaeger_trace(trace_id)
    if not got:
        return None
    spans, processes = got
    services = {processes[s["processID"]]["serviceName"] for s in spans}
    has_db = any(t["key"] == "db.system.name" for s in spans for t in s.get("tags", []))
    return got if services >= SERVICES and has_db else None


def test_jaeger_returns_the_trace_with_both_services_and_the_db_span(stack, traffic):
    spans, processes = wait_for("the known trace in Jaeger with both services and a DB span",
                                lambda: jaeger_complete(stack, traffic["trace_id"]), timeout=60)
    ids = {s["spanID"] for s in spans}
    roots = []
    for s in spans:
        assert s["traceID"] == traffic["trace_id"]
        parents = [r["spanID"] for r in s.get("references", []) if r["refType"] == "CHILD_OF"]
        assert len(parents) == 1, s
        if parents[0] not in ids:
            roots.append(s)
            assert parents[0] == traffic["parent_id"], "a span's parent is missing from the trace"
    assert len(roots) == 1
    root = roots[0]
    assert processes[root["processID"]]["serviceName"] == "oteldemo-frontend"
    # Both daemons name the route they served.
    assert root["operationName"] == "GET /api/products/{id}"
    assert any(s["operationName"] == "GET /api/products/{id}" and processes[s["processID"]]["serviceName"]
               == "oteldemo-backend" for s in spans)
    db = [s for s in spans if any(t["key"] == "db.system.name" and t["value"] == "postgresql" for t in s["tags"])]
    assert db and all(processes[s["processID"]]["serviceName"] == "oteldemo-backend" for s in db)


def test_zipkin_returns_the_same_trace(stack, traffic):
    jaeger_spans, _ = wait_for("the known trace in Jaeger", lambda: jaeger_complete(stack, traffic["trace_id"]))
    spans = wait_for("the known trace in Zipkin with all of Jaeger's spans",
                     lambda: (lambda z: z if z and len(z) >= len(jaeger_spans) else None)(
                         stack.zipkin_trace(traffic["trace_id"])), timeout=60)
    assert {s["id"] for s in spans} == {s["spanID"] for s in jaeger_spans}
    assert {s["localEndpoint"]["serviceName"] for s in spans} == SERVICES
    ids = {s["id"] for s in spans}
    for s in spans:
        assert s["traceId"] == traffic["trace_id"]
        assert s["parentId"] in ids or s["parentId"] == traffic["parent_id"]


def collector_metrics(stack):
    """{(name, frozenset(labels)): value} from the Collector's own metrics endpoint."""
    status, body = http(stack.otelcol_metrics)
    assert status == 200
    out = {}
    for line in body.decode().splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if not m or line.startswith("#"):
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def total(metrics, name, **match):
    return sum(v for (n, labels), v in metrics.items()
               if n == name and all((k, val) in labels for k, val in match.items()))


def test_collector_accepted_and_sent_every_span_refused_none(stack, traffic):
    wait_for("the known trace in Jaeger", lambda: jaeger_complete(stack, traffic["trace_id"]))
    m = collector_metrics(stack)
    accepted = total(m, "otelcol_receiver_accepted_spans_total", receiver="otlp")
    assert accepted > 100
    for exporter in ("otlp/jaeger", "zipkin"):
        sent = total(m, "otelcol_exporter_sent_spans_total", exporter=exporter)
        assert sent > 100, exporter
        assert total(m, "otelcol_exporter_send_failed_spans_total", exporter=exporter) == 0, exporter
    assert total(m, "otelcol_receiver_refused_spans_total") == 0
    assert total(m, "otelcol_receiver_failed_spans_total") == 0
    assert any(n == "otelcol_receiver_refused_spans_total" for n, _ in m), "refused counter not exported"
