# Wire compatibility of the OTLP/HTTP trace exporter with an independent implementation: the test
# program tests/programs/otel-wire-spans exports a known set of spans through the public API, the
# receiver decodes them with the OpenTelemetry JS generated protobuf code, and every field is
# compared with what the program says it created — for protobuf, JSON, and both with gzip.
import json
import socket
import time

import pytest

from conftest import OtlpReceiver, attr_dict, run_program

PROGRAM = "tests/programs/otel-wire-spans"

TRACESTATE = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
REMOTE_PARENT_SPAN_ID = "00f067aa0ba902b7"
LINK_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
LINK_SPAN_ID = "b7ad6b7169203331"
LINK_TRACESTATE = "linkvendor=abc"

# SpanFlags: W3C trace flags in bits 0-7, bit 8 = "is-remote is known", bit 9 = "is remote".
FLAG_SAMPLED = 0x01
FLAG_HAS_IS_REMOTE = 0x100
FLAG_IS_REMOTE = 0x200

KIND_INTERNAL, KIND_SERVER, KIND_CLIENT = 1, 2, 3
STATUS_ERROR = 2

CONTENT_TYPES = {"http/protobuf": "application/x-protobuf", "http/json": "application/json"}
PROGRAM_TIMEOUT_S = 30

INT64_MIN = "-9223372036854775808"


def s(v):
    return {"stringValue": v}


def i(v):
    return {"intValue": str(v)}


def d(v):
    return {"doubleValue": v}


def b(v):
    return {"boolValue": v}


def arr(*values):
    return {"arrayValue": {"values": list(values)}}


SERVER_ATTRS = {
    "http.request.method": s("GET"),
    "text.unicode": s("h\u00e9llo \u2713"),
    "http.response.status_code": i(503),
    "int.min": {"intValue": INT64_MIN},
    "ratio": d(0.25),
    "retry": b(True),
    "cached": b(False),
    "array.strings": arr(s("alpha"), s("beta"), s("")),
    "array.bools": arr(b(True), b(False), b(True)),
    # 2^53 + 1 survives only if nobody went through a double on the way
    "array.ints": arr(i(1), i(-2), i(9007199254740993), {"intValue": INT64_MIN}),
    "array.doubles": arr(d(1.5), d(-0.125), d(1e300)),
}
CLIENT_ATTRS = {"peer.service": s("payments"), "http.response.status_code": i(200)}
INTERNAL_ATTRS = {"job.ratio": d(0.5), "job.dry_run": b(False)}


def program_env(receiver, protocol, compression):
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_COMPRESSION": compression,
        "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=secret,x-tenant=acme,x-note=hello%20world",
        "OTEL_SERVICE_NAME": "wire-svc",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test,team=shop,note=a%20b",
        "OTEL_TRACES_EXPORTER": "otlp",
        # only the trace signal is under test here (metrics and logs have their own wire tests)
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        # one export at shutdown: everything in a single request
        "OTEL_BSP_SCHEDULE_DELAY": "60000",
    }


class Exported:
    """What one program run created (its stdout record) and what the receiver decoded."""

    def __init__(self, created, requests, started_ns, finished_ns):
        self.created = created
        self.requests = requests
        self.started_ns = started_ns
        self.finished_ns = finished_ns
        self.spans = {}      # span id → span
        self.scope_of = {}   # span id → InstrumentationScope
        self.resources = []
        for req in requests:
            for rs in req["decoded"].get("resourceSpans", []):
                self.resources.append(rs.get("resource", {}))
                for ss in rs.get("scopeSpans", []):
                    for span in ss.get("spans", []):
                        assert span["spanId"] not in self.spans, f"span {span['spanId']} exported twice"
                        self.spans[span["spanId"]] = span
                        self.scope_of[span["spanId"]] = ss.get("scope", {})

    def span(self, label):
        span_id = self.created["spans"][label]["span_id"]
        assert span_id in self.spans, f"{label} span {span_id} not received; got {sorted(self.spans)}"
        return self.spans[span_id]


# One program run per protocol serves all the assertions below (module scope, own receiver).
@pytest.fixture(scope="module",
                params=[("http/protobuf", "none"), ("http/json", "none"),
                        ("http/protobuf", "gzip"), ("http/json", "gzip")],
                ids=["protobuf", "json", "protobuf-gzip", "json-gzip"])
def exported(request, otlp_node_modules, build_dir):
    protocol, compression = request.param
    receiver = OtlpReceiver(otlp_node_modules)
    try:
        started_ns = time.time_ns()
        proc = run_program(build_dir / PROGRAM, program_env(receiver, protocol, compression),
                           timeout=PROGRAM_TIMEOUT_S)
        finished_ns = time.time_ns()
        assert proc.returncode == 0, f"program failed ({proc.returncode}): {proc.stderr}"
        created = json.loads(proc.stdout.strip().splitlines()[-1])
        requests = receiver.wait_for_requests(1, timeout=10)
    finally:
        receiver.close()
    for req in requests:
        assert req["decodeError"] is None, req["decodeError"]
    result = Exported(created, requests, started_ns, finished_ns)
    result.protocol = protocol
    result.compression = compression
    return result


# ---- HTTP request ------------------------------------------------------------------------------

def test_request_goes_to_v1_traces_as_post(exported):
    for req in exported.requests:
        assert req["path"] == "/v1/traces"
        assert req["method"] == "POST"


def test_content_type_matches_protocol(exported):
    for req in exported.requests:
        assert req["contentType"] == CONTENT_TYPES[exported.protocol]


def test_content_encoding_matches_compression(exported):
    expected = "gzip" if exported.compression == "gzip" else None
    for req in exported.requests:
        assert req["contentEncoding"] == expected


def test_user_agent_names_the_exporter(exported):
    for req in exported.requests:
        assert req["headers"]["user-agent"].startswith("OTel-OTLP-Exporter-")


def test_custom_headers_are_sent_percent_decoded(exported):
    for req in exported.requests:
        assert req["headers"]["x-api-key"] == "secret"
        assert req["headers"]["x-tenant"] == "acme"
        assert req["headers"]["x-note"] == "hello world"


def test_all_spans_arrive_exactly_once(exported):
    expected = {exported.created["spans"][label]["span_id"] for label in ("server", "client", "internal")}
    assert set(exported.spans) == expected


# ---- resource and scopes -----------------------------------------------------------------------

def test_resource_attributes(exported):
    assert exported.resources, "no resource"
    for res in exported.resources:
        attrs = attr_dict(res.get("attributes"))
        assert attrs["service.name"] == s("wire-svc")  # OTEL_SERVICE_NAME wins over the program's default
        assert attrs["service.version"] == s("9.8.7")
        assert attrs["telemetry.sdk.name"] == s("oteldemo-otel-c")
        assert attrs["telemetry.sdk.language"] == s("c")
        assert attrs["telemetry.sdk.version"]["stringValue"]
        assert attrs["process.pid"] == i(exported.created["pid"])
        assert attrs["host.name"] == s(socket.gethostname())
        assert attrs["service.instance.id"]["stringValue"]
        assert attrs["deployment.environment"] == s("test")
        assert attrs["team"] == s("shop")
        assert attrs["note"] == s("a b")
        assert "droppedAttributesCount" not in res


def test_scopes_name_and_version(exported):
    ids = exported.created["spans"]
    assert exported.scope_of[ids["server"]["span_id"]] == {"name": "oteldemo.wire", "version": "1.4.2"}
    assert exported.scope_of[ids["client"]["span_id"]] == {"name": "oteldemo.wire", "version": "1.4.2"}
    assert exported.scope_of[ids["internal"]["span_id"]] == {"name": "oteldemo.wire.jobs", "version": "0.3.0"}


# ---- SERVER span (remote parent) ---------------------------------------------------------------

def test_server_ids_and_remote_parent(exported):
    span, created = exported.span("server"), exported.created["spans"]["server"]
    assert span["traceId"] == created["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span["spanId"] == created["span_id"]
    assert span["parentSpanId"] == REMOTE_PARENT_SPAN_ID
    assert span["traceState"] == TRACESTATE


def test_server_flags_mark_parent_remote(exported):
    assert exported.span("server")["flags"] == FLAG_SAMPLED | FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE


def test_server_name_kind_and_times(exported):
    span, created = exported.span("server"), exported.created["spans"]["server"]
    assert span["name"] == "GET /api/orders/{id}"
    assert span["kind"] == KIND_SERVER
    assert span["startTimeUnixNano"] == created["start_ns"]
    assert span["endTimeUnixNano"] == created["end_ns"]


def test_server_attributes_of_every_type(exported):
    span = exported.span("server")
    assert attr_dict(span["attributes"]) == SERVER_ATTRS
    assert [kv["key"] for kv in span["attributes"]] == list(SERVER_ATTRS)  # insertion order kept
    assert "droppedAttributesCount" not in span


def test_server_event_with_attributes(exported):
    events = exported.span("server")["events"]
    assert events[0]["name"] == "order.validated"
    assert events[0]["timeUnixNano"] == exported.created["event_ns"]
    assert attr_dict(events[0]["attributes"]) == {"order.id": s("o-42"), "order.total": d(99.5)}
    assert "droppedAttributesCount" not in events[0]


def test_server_exception_event(exported):
    events = exported.span("server")["events"]
    assert len(events) == 2
    exc = events[1]
    assert exc["name"] == "exception"
    assert attr_dict(exc["attributes"]) == {"exception.type": s("StockError"),
                                            "exception.message": s("out of stock")}
    # recorded "now" by the SDK: during the program's run
    assert exported.started_ns <= int(exc["timeUnixNano"]) <= exported.finished_ns


def test_server_link_with_attributes(exported):
    span = exported.span("server")
    assert len(span["links"]) == 1
    link = span["links"][0]
    assert link["traceId"] == LINK_TRACE_ID
    assert link["spanId"] == LINK_SPAN_ID
    assert link["traceState"] == LINK_TRACESTATE
    assert attr_dict(link["attributes"]) == {"link.reason": s("retry-of"), "link.attempt": i(2)}
    assert link["flags"] == FLAG_SAMPLED | FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE
    assert "droppedLinksCount" not in span


def test_server_error_status_with_description(exported):
    assert exported.span("server")["status"] == {"code": STATUS_ERROR, "message": "payment declined"}


# ---- CLIENT span (local parent) ----------------------------------------------------------------

def test_client_is_local_child_of_server(exported):
    span, created = exported.span("client"), exported.created["spans"]
    assert span["traceId"] == created["server"]["trace_id"]
    assert span["parentSpanId"] == created["server"]["span_id"]
    assert span["flags"] == FLAG_SAMPLED | FLAG_HAS_IS_REMOTE
    assert span["traceState"] == TRACESTATE  # inherited from the parent


def test_client_name_kind_times_attributes(exported):
    span, created = exported.span("client"), exported.created["spans"]["client"]
    assert span["name"] == "POST /payments"
    assert span["kind"] == KIND_CLIENT
    assert span["startTimeUnixNano"] == created["start_ns"]
    assert span["endTimeUnixNano"] == created["end_ns"]
    assert attr_dict(span["attributes"]) == CLIENT_ATTRS
    assert span.get("status", {}) == {}  # UNSET
    assert "events" not in span and "links" not in span


# ---- INTERNAL span (second scope, new trace) ---------------------------------------------------

def test_internal_is_root_of_new_trace(exported):
    span, created = exported.span("internal"), exported.created["spans"]
    assert span["traceId"] == created["internal"]["trace_id"]
    assert span["traceId"] != created["server"]["trace_id"]
    assert "parentSpanId" not in span
    assert "traceState" not in span
    assert span["flags"] == FLAG_SAMPLED | FLAG_HAS_IS_REMOTE


def test_internal_name_kind_times_attributes(exported):
    span, created = exported.span("internal"), exported.created["spans"]["internal"]
    assert span["name"] == "cleanup"
    assert span["kind"] == KIND_INTERNAL
    assert span["startTimeUnixNano"] == created["start_ns"]
    assert span["endTimeUnixNano"] == created["end_ns"]
    assert attr_dict(span["attributes"]) == INTERNAL_ATTRS
