# OTLP/HTTP metrics export checked by an independent decoder: tests/programs/otel-metrics-demo records
# a known set of measurements through the public API and pushes them to /v1/metrics; the receiver
# (otlp-receiver.js) decodes them with the OpenTelemetry JS generated protobuf code, and every field of
# the demo's metrics is compared — for protobuf, JSON and gzip, for the final export on shutdown and for
# the periodic reader.
import json
import subprocess

import pytest

from conftest import attr_dict, clean_env

PROGRAM = "tests/programs/otel-metrics-demo"
PROGRAM_TIMEOUT_S = 30
CONTENT_TYPES = {"http/protobuf": "application/x-protobuf", "http/json": "application/json"}

DEMO_SCOPE = {"name": "oteldemo-metrics-demo", "version": "1.0.0"}
SDK_SCOPE_NAME = "oteldemo-otel-sdk"
TEMPORALITY_CUMULATIVE = 2
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
HTTP_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]


def s(v):
    return {"stringValue": v}


def i(v):
    return {"intValue": str(v)}


def push(build_dir, receiver, protocol="http/protobuf", linger_ms=0, **extra):
    """Runs the demo in push mode over an environment free of the caller's OTEL_* settings.

    Returns (before_ns, after_ns, stderr): wall-clock bounds of the recording, the SDK's messages."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
    env.update(extra)
    proc = subprocess.run([str(build_dir / PROGRAM), "push", str(linger_ms)], env=clean_env(env), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=PROGRAM_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    bounds = json.loads(proc.stdout.splitlines()[0])
    return int(bounds["before_ns"]), int(bounds["after_ns"]), proc.stderr


def metric_requests(receiver):
    reqs = [r for r in receiver.requests() if r["path"] == "/v1/metrics"]
    for r in reqs:
        assert not r.get("decodeError"), r.get("decodeError")
    return reqs


def scopes(request):
    (rm,) = request["decoded"]["resourceMetrics"]
    return rm, {sm["scope"]["name"]: sm for sm in rm["scopeMetrics"]}


def demo_metrics(request):
    _, by_scope = scopes(request)
    sm = by_scope[DEMO_SCOPE["name"]]
    assert sm["scope"] == DEMO_SCOPE
    return {m["name"]: m for m in sm["metrics"]}


def assert_demo_metrics(metrics, before_ns, after_ns):
    assert set(metrics) == {"http.server.requests", "shop.cart.items", "http.server.request.duration",
                            "process.cpu.utilization", "shop.stock.level", "shop.orders.created"}

    m = metrics["http.server.requests"]
    assert (m["unit"], m["description"]) == ("{request}", "HTTP requests served")
    assert m["sum"]["aggregationTemporality"] == TEMPORALITY_CUMULATIVE
    assert m["sum"]["isMonotonic"] is True
    points = {attr_dict(dp["attributes"])["http.request.method"]["stringValue"]: dp for dp in m["sum"]["dataPoints"]}
    assert set(points) == {"GET", "POST"}
    assert attr_dict(points["GET"]["attributes"]) == {"http.request.method": s("GET"),
                                                      "http.response.status_code": i(200)}
    assert points["GET"]["asInt"] == "3"
    assert points["POST"]["asInt"] == "1"
    assert attr_dict(points["POST"]["attributes"])["http.response.status_code"] == i(201)
    start_ns = int(points["GET"]["startTimeUnixNano"])
    assert start_ns <= before_ns
    for dp in m["sum"]["dataPoints"]:
        assert int(dp["startTimeUnixNano"]) == start_ns
        assert int(dp["timeUnixNano"]) >= after_ns

    m = metrics["shop.cart.items"]
    assert (m["unit"], m["description"]) == ("{item}", "Items in carts")
    assert m["sum"]["aggregationTemporality"] == TEMPORALITY_CUMULATIVE
    assert "isMonotonic" not in m["sum"]  # false is the default, left out
    (dp,) = m["sum"]["dataPoints"]
    assert dp["asDouble"] == 2.5
    assert "attributes" not in dp
    assert int(dp["startTimeUnixNano"]) == start_ns

    m = metrics["http.server.request.duration"]
    assert (m["unit"], m["description"]) == ("s", "Duration of HTTP server requests.")
    assert m["histogram"]["aggregationTemporality"] == TEMPORALITY_CUMULATIVE
    (dp,) = m["histogram"]["dataPoints"]
    assert attr_dict(dp["attributes"]) == {"http.route": s("/api/products")}
    assert dp["count"] == "4"
    assert dp["sum"] == pytest.approx(12.324, abs=1e-12)
    assert dp["min"] == 0.004
    assert dp["max"] == 12
    assert dp["explicitBounds"] == HTTP_BOUNDS
    assert dp["bucketCounts"] == ["1", "0", "1", "0", "0", "0", "0", "1", "0", "0", "0", "0", "0", "0", "1"]
    assert int(dp["startTimeUnixNano"]) == start_ns
    (ex,) = dp["exemplars"]
    assert ex["traceId"] == TRACE_ID
    assert ex["spanId"] == SPAN_ID
    assert ex["asDouble"] == 0.3
    assert before_ns <= int(ex["timeUnixNano"]) <= after_ns

    m = metrics["process.cpu.utilization"]
    assert (m["unit"], m["description"]) == ("1", "CPU utilization")
    (dp,) = m["gauge"]["dataPoints"]
    assert dp["asDouble"] == 0.25
    assert "startTimeUnixNano" not in dp  # gauges have no start time
    assert int(dp["timeUnixNano"]) >= after_ns

    m = metrics["shop.stock.level"]
    assert (m["unit"], m["description"]) == ("{item}", "Items in stock")
    stock = {attr_dict(dp["attributes"])["product"]["stringValue"]: dp["asInt"] for dp in m["gauge"]["dataPoints"]}
    assert stock == {"a": "5", "b": "7"}

    m = metrics["shop.orders.created"]
    assert (m["unit"], m["description"]) == ("{order}", "Orders created")
    assert m["sum"]["isMonotonic"] is True
    (dp,) = m["sum"]["dataPoints"]
    assert dp["asInt"] == "42"
    return start_ns


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_final_export_carries_every_field(build_dir, otlp_receiver, protocol):
    before_ns, after_ns, _ = push(build_dir, otlp_receiver, protocol)

    (req,) = metric_requests(otlp_receiver)
    assert req["contentType"] == CONTENT_TYPES[protocol]
    assert req["method"] == "POST"
    rm, by_scope = scopes(req)
    resource = attr_dict(rm["resource"]["attributes"])
    assert resource["service.name"] == s("metrics-demo")
    assert resource["service.version"] == s("2.0.0")
    assert resource["telemetry.sdk.language"] == s("c")
    assert set(by_scope) == {DEMO_SCOPE["name"], SDK_SCOPE_NAME}
    assert_demo_metrics(demo_metrics(req), before_ns, after_ns)
    sdk = {m["name"]: m for m in by_scope[SDK_SCOPE_NAME]["metrics"]}
    assert sdk["otel.sdk.span.started"]["unit"] == "{span}"
    assert sdk["otel.sdk.span.started"]["sum"]["isMonotonic"] is True


def test_gzip_export_decodes_the_same(build_dir, otlp_receiver):
    before_ns, after_ns, _ = push(build_dir, otlp_receiver, OTEL_EXPORTER_OTLP_METRICS_COMPRESSION="gzip")

    (req,) = metric_requests(otlp_receiver)
    assert req["contentEncoding"] == "gzip"
    assert_demo_metrics(demo_metrics(req), before_ns, after_ns)


def test_periodic_reader_exports_cumulative_points_each_interval(build_dir, otlp_receiver):
    before_ns, after_ns, _ = push(build_dir, otlp_receiver, linger_ms=1500, OTEL_METRIC_EXPORT_INTERVAL="300")

    reqs = metric_requests(otlp_receiver)
    # about five periodic exports in 1.5 s plus the final one; a loaded machine may lose one or two
    assert len(reqs) >= 4
    starts, times = set(), []
    for req in reqs:
        start_ns = assert_demo_metrics(demo_metrics(req), before_ns, after_ns)
        starts.add(start_ns)
        times.append(int(demo_metrics(req)["http.server.requests"]["sum"]["dataPoints"][0]["timeUnixNano"]))
    assert len(starts) == 1  # cumulative: one start for every export
    assert times == sorted(times) and len(set(times)) == len(times)
    # from the second export on, the SDK reports its own exports
    _, by_scope = scopes(reqs[-1])
    sdk = {m["name"]: m for m in by_scope[SDK_SCOPE_NAME]["metrics"]}
    duration = sdk["otel.sdk.exporter.operation.duration"]
    assert duration["unit"] == "s"
    (dp,) = duration["histogram"]["dataPoints"]
    assert attr_dict(dp["attributes"]) == {"otel.component.type": s("otlp_http_metric_exporter"),
                                           "http.response.status_code": i(200)}
    assert int(dp["count"]) == len(reqs) - 1
    exported = sdk["otel.sdk.exporter.metric_data_point.exported"]
    (dp,) = exported["sum"]["dataPoints"]
    assert int(dp["asInt"]) > 0


def test_partial_success_is_logged(build_dir, otlp_receiver):
    otlp_receiver.script([{"status": 200, "partialSuccess": {"rejectedDataPoints": 2, "errorMessage": "too old"}}])
    _, _, stderr = push(build_dir, otlp_receiver)

    assert len(metric_requests(otlp_receiver)) == 1
    assert "OTLP metrics export: the receiver rejected 2 of" in stderr
    assert "too old" in stderr


def test_exporter_none_sends_nothing(build_dir, otlp_receiver):
    push(build_dir, otlp_receiver, OTEL_METRICS_EXPORTER="none")

    assert metric_requests(otlp_receiver) == []
