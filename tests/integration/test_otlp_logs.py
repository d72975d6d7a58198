# OTLP/HTTP logs export checked by an independent decoder: tests/programs/otel-log-demo logs a known set of
# messages through the public API; the batch log record processor pushes them to /v1/logs, where
# otlp-receiver.js decodes them with the OpenTelemetry JS generated code. Every field of every record is
# compared, for protobuf, JSON and gzip.
import json
import re
import subprocess

import pytest

from conftest import REPO, clean_env

PROGRAM = "tests/programs/otel-log-demo"
PROGRAM_TIMEOUT_S = 30
CONTENT_TYPES = {"http/protobuf": "application/x-protobuf", "http/json": "application/json"}
SCOPE_NAME = "oteldemo"
SEVERITY_INFO, SEVERITY_WARN, SEVERITY_ERROR = 9, 13, 17
TRACE_FLAG_SAMPLED = 1


def project_version():
    m = re.search(r"version\s*:\s*'([^']+)'", (REPO / "meson.build").read_text())
    return m.group(1)


def s(v):
    return {"stringValue": v}


def i(v):
    return {"intValue": str(v)}


def run_demo(build_dir, receiver, protocol="http/protobuf", **extra):
    env = clean_env(drop=("JOURNAL_STREAM",))
    env.update({
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "otlp",
    })
    env.update(extra)
    proc = subprocess.run([str(build_dir / PROGRAM)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=PROGRAM_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[0]), proc.stderr


def log_requests(receiver):
    reqs = [r for r in receiver.requests() if r["path"] == "/v1/logs"]
    for r in reqs:
        assert not r.get("decodeError"), r.get("decodeError")
    return reqs


def only_request(receiver):
    reqs = log_requests(receiver)
    assert len(reqs) == 1, f"expected one /v1/logs request, got {len(reqs)}"
    return reqs[0]


def code_attrs(demo, line):
    return [
        {"key": "code.file.path", "value": s(demo["file"])},
        {"key": "code.line.number", "value": i(line)},
        {"key": "code.function.name", "value": s(demo["func"])},
    ]


def expected_records(demo):
    """The three records above the default level (INFO), in call order, without their timestamps."""
    span = {"flags": TRACE_FLAG_SAMPLED, "traceId": demo["trace_id"], "spanId": demo["span_id"]}
    warn = {
        "severityNumber": SEVERITY_WARN,
        "severityText": "WARN",
        "body": s("order A-42 failed: payment declined"),
        "attributes": [
            {"key": "order.id", "value": s("A-42")},
            {"key": "order.items", "value": i(3)},
            {"key": "order.total", "value": {"doubleValue": 12.5}},
            {"key": "order.retry", "value": {"boolValue": True}},
            {"key": "order.tags", "value": {"arrayValue": {"values": [s("blue"), s("green")]}}},
            {"key": "note", "value": s("two words")},
        ] + code_attrs(demo, demo["line_warn"]),
        **span,
    }
    err = {
        "severityNumber": SEVERITY_ERROR,
        "severityText": "ERROR",
        "body": s("Cannot open /etc/oteldemo/missing.conf: No such file or directory"),
        "attributes": code_attrs(demo, demo["line_err"]) + [{"key": "error.type", "value": s("ENOENT")}],
        **span,
    }
    plain = {
        "severityNumber": SEVERITY_INFO,
        "severityText": "INFO",
        "body": s("no span here\nsecond line"),
        "attributes": code_attrs(demo, demo["line_plain"]),
    }
    return [warn, err, plain]


def assert_request(req, demo, content_type):
    assert req["method"] == "POST"
    assert req["contentType"] == content_type
    (rl,) = req["decoded"]["resourceLogs"]
    resource = {kv["key"]: kv["value"] for kv in rl["resource"]["attributes"]}
    assert resource["service.name"] == s("otel-log-demo")
    assert resource["telemetry.sdk.language"] == s("c")
    (sl,) = rl["scopeLogs"]
    assert sl["scope"] == {"name": SCOPE_NAME, "version": project_version()}
    records = sl["logRecords"]
    stripped = []
    previous = demo["before_ns"]
    for rec in records:
        t, observed = int(rec.pop("timeUnixNano")), int(rec.pop("observedTimeUnixNano"))
        assert previous <= t <= demo["after_ns"]
        assert observed == t
        previous = t
        stripped.append(rec)
    assert stripped == expected_records(demo)


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_every_field_of_every_record_reaches_the_independent_decoder(build_dir, otlp_receiver, protocol):
    demo, _ = run_demo(build_dir, otlp_receiver, protocol)
    assert_request(only_request(otlp_receiver), demo, CONTENT_TYPES[protocol])


def test_gzip_compressed_request_decodes_to_the_same_records(build_dir, otlp_receiver):
    demo, _ = run_demo(build_dir, otlp_receiver, OTEL_EXPORTER_OTLP_LOGS_COMPRESSION="gzip")
    req = only_request(otlp_receiver)
    assert req["contentEncoding"] == "gzip"
    assert_request(req, demo, CONTENT_TYPES["http/protobuf"])


def test_logs_specific_endpoint_is_used_as_is(build_dir, otlp_receiver):
    run_demo(build_dir, otlp_receiver, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
             OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=otlp_receiver.endpoint + "/v1/logs")
    assert len(log_requests(otlp_receiver)) == 1


def test_otel_log_level_debug_exports_the_debug_record(build_dir, otlp_receiver):
    run_demo(build_dir, otlp_receiver, OTEL_LOG_LEVEL="debug")
    records = only_request(otlp_receiver)["decoded"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    assert [r["severityText"] for r in records] == ["WARN", "ERROR", "DEBUG", "INFO"]
    assert records[2]["body"] == s("below the default level: never written")


def test_logs_exporter_none_sends_nothing(build_dir, otlp_receiver):
    run_demo(build_dir, otlp_receiver, OTEL_LOGS_EXPORTER="none")
    assert log_requests(otlp_receiver) == []


def test_partial_success_is_reported_on_stderr_once(build_dir, otlp_receiver):
    otlp_receiver.script([{"status": 200, "partialSuccess": {"rejectedLogRecords": 2,
                                                             "errorMessage": "too old"}}])
    _, stderr = run_demo(build_dir, otlp_receiver)
    assert "OTLP logs export: the receiver rejected 2 of 3 records: too old" in stderr


def test_schedule_delay_exports_before_shutdown(build_dir, otlp_receiver):
    # The demo runs well under a second; a 1 ms delay means the thread exports before the final flush,
    # so the records may come in more than one request, but all of them arrive exactly once.
    demo, _ = run_demo(build_dir, otlp_receiver, OTEL_BLRP_SCHEDULE_DELAY="1")
    records = [rec for req in log_requests(otlp_receiver)
               for rec in req["decoded"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"]]
    assert [r["body"] for r in records] == [r["body"] for r in expected_records(demo)]
