# OTLP logs from the daemons reach the Collector's file exporter, with the trace and span ids of the
# span they were written in, and those traces are the ones Jaeger holds.
import json

from conftest import wait_for

HEX32_ZERO = "0" * 32


def log_records(stack):
    path = stack.tmp / "otelcol/logs.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        doc = json.loads(line)
        for rl in doc.get("resourceLogs", []):
            service = next((a["value"].get("stringValue") for a in rl.get("resource", {}).get("attributes", [])
                            if a["key"] == "service.name"), None)
            for sl in rl.get("scopeLogs", []):
                for rec in sl.get("logRecords", []):
                    out.append(dict(rec, service=service))
    return out


def with_ids(records):
    return [r for r in records if len(r.get("traceId", "")) == 32 and r["traceId"] != HEX32_ZERO
            and len(r.get("spanId", "")) == 16]


def test_otlp_logs_reach_the_file_exporter_with_trace_and_span_ids(stack, payment_fault):
    records = wait_for("log records with trace ids in the Collector's file", lambda: with_ids(log_records(stack)))
    assert {r["service"] for r in records} <= {"oteldemo-frontend", "oteldemo-backend"}
    declined = [r for r in records if "failed" in json.dumps(r.get("body", {}))]
    assert declined, "no payment failure log among " + json.dumps(records[:3])
    rec = declined[-1]
    spans, _ = wait_for("the log's trace in Jaeger", lambda: stack.jaeger_trace(rec["traceId"]))
    assert rec["spanId"] in {s["spanID"] for s in spans}
