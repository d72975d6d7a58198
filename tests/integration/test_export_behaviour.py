# Behaviour of the OTLP/HTTP trace exporter against the independent receiver (otlp-receiver.js) when
# the receiver misbehaves: retryable and final errors, Retry-After, a receiver that never answers, a
# full queue, partial success, gzip, and no receiver at all. The load program (tests/programs/
# otel-export-load.c) uses only the public API and reports latencies, counters, shutdown time and RSS.
import json
import subprocess

import pytest

from conftest import clean_env, free_port

LOAD_PROGRAM = "tests/programs/otel-export-load"
PROGRAM_TIMEOUT_S = 60
# A span_end that waited on the exporter would take about the export timeout (1 s here); 20 ms leaves
# room for the scheduler on a shared 2-core machine while still proving the application never waits.
SPAN_END_MAX_NS = 20_000_000
SHUTDOWN_SLACK_MS = 700
EXPORT_TIMEOUT_MS = 1000
RSS_GROWTH_MAX_KB = 6 * 1024
# A receiver script that hangs on every request the test can send.
HANG_FOREVER = [{"hang": True}] * 64


def run_load(build_dir, args, env):
    """Runs otel-export-load with the given arguments over an environment free of the caller's OTEL_*.

    Returns (report dict, list of the SDK's warning lines)."""
    # Only the trace pipeline is under test: no metrics or logs requests to script around or wait for.
    base = clean_env(dict({"OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}, **env))
    proc = subprocess.run([str(build_dir / LOAD_PROGRAM)] + [str(a) for a in args], env=base,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=PROGRAM_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("otel: warning:")]
    return json.loads(proc.stdout), warnings


def exporter_env(receiver, **extra):
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    env.update(extra)
    return env


def span_ids(request):
    decoded = request["decoded"] or {}
    return [span["spanId"]
            for rs in decoded.get("resourceSpans", [])
            for ss in rs.get("scopeSpans", [])
            for span in ss.get("spans", [])]


def export_failures(warnings):
    return [w for w in warnings if "OTLP traces export to" in w]


def test_503_then_200_delivers_the_batch_exactly_once(build_dir, otlp_receiver):
    otlp_receiver.script([{"status": 503}])
    report, _ = run_load(build_dir, [100], exporter_env(otlp_receiver))

    reqs = otlp_receiver.requests()
    assert len(reqs) == 2
    first, second = span_ids(reqs[0]), span_ids(reqs[1])
    assert len(first) == 100 and sorted(first) == sorted(second)  # the same batch, resent once
    stats = report["stats"]
    assert stats["export_requests"] >= 1
    assert stats["spans_exported"] == 100
    assert stats["spans_export_failed"] == 0


def test_400_is_not_retried_and_its_message_logged_once(build_dir, otlp_receiver):
    otlp_receiver.script([{"status": 400, "body": "span 7 has an invalid trace id"}])
    report, warnings = run_load(build_dir, [10], exporter_env(otlp_receiver))

    assert len(otlp_receiver.requests()) == 1
    failures = export_failures(warnings)
    assert len(failures) == 1
    assert "HTTP 400: span 7 has an invalid trace id" in failures[0]
    assert report["stats"]["spans_export_failed"] == 10
    assert report["stats"]["spans_exported"] == 0


def test_retry_after_seconds_is_honoured(build_dir, otlp_receiver):
    otlp_receiver.script([{"status": 429, "retryAfter": "2"}])
    report, _ = run_load(build_dir, [10, 0, 10000], exporter_env(otlp_receiver))

    reqs = otlp_receiver.requests()
    assert len(reqs) == 2
    # The SDK waits on CLOCK_MONOTONIC; Date.now() stamps may round by a millisecond either way.
    assert reqs[1]["receivedAtMs"] - reqs[0]["receivedAtMs"] >= 2000 - 2
    assert report["stats"]["spans_exported"] == 10


def test_hanging_receiver_export_is_abandoned_at_the_export_timeout(build_dir, otlp_receiver):
    otlp_receiver.script(HANG_FOREVER)
    # 1000 spans make two batches (512 + 488); each export must give up after EXPORT_TIMEOUT_MS.
    report, warnings = run_load(build_dir, [1000, 0, 10000],
                                exporter_env(otlp_receiver, OTEL_EXPORTER_OTLP_TIMEOUT=EXPORT_TIMEOUT_MS,
                                             OTEL_BSP_EXPORT_TIMEOUT=EXPORT_TIMEOUT_MS))

    assert len(otlp_receiver.requests()) == 2
    assert report["shutdown_rc"] == 0
    # The first batch's export can start while the spans are still being created (full at 512): it
    # then runs for up to create_seconds before shutdown's clock starts (long on a loaded machine).
    head_start_ms = report["create_seconds"] * 1000
    assert (2 * EXPORT_TIMEOUT_MS - 100 - head_start_ms <= report["shutdown_ms"]
            <= 2 * EXPORT_TIMEOUT_MS + SHUTDOWN_SLACK_MS), report
    assert report["stats"]["spans_export_failed"] == 1000
    assert len(export_failures(warnings)) == 1  # the second, identical failure is not logged again


def test_hanging_receiver_never_blocks_the_application_thread(build_dir, otlp_receiver):
    otlp_receiver.script(HANG_FOREVER)
    shutdown_timeout_ms = 1500
    # 2000 spans over 2 s: the application keeps ending spans while exports hang.
    report, _ = run_load(build_dir, [2000, 1000, shutdown_timeout_ms],
                         exporter_env(otlp_receiver, OTEL_EXPORTER_OTLP_TIMEOUT=EXPORT_TIMEOUT_MS,
                                      OTEL_BSP_EXPORT_TIMEOUT=EXPORT_TIMEOUT_MS))

    assert len(otlp_receiver.requests()) >= 1
    assert report["span_end_max_ns"] < SPAN_END_MAX_NS
    assert report["shutdown_ms"] <= shutdown_timeout_ms + SHUTDOWN_SLACK_MS
    assert report["stats"]["spans_exported"] == 0


def test_full_queue_drops_are_counted_and_memory_stays_flat(build_dir, otlp_receiver):
    otlp_receiver.script(HANG_FOREVER)
    n = 200_000
    # ASan's quarantine would hold on to every freed span and hide whether memory is really released.
    report, _ = run_load(build_dir, [n, 0, 2000],
                         exporter_env(otlp_receiver, OTEL_BSP_MAX_QUEUE_SIZE=100, OTEL_BSP_MAX_EXPORT_BATCH_SIZE=100,
                                      OTEL_EXPORTER_OTLP_TIMEOUT=EXPORT_TIMEOUT_MS,
                                      OTEL_BSP_EXPORT_TIMEOUT=EXPORT_TIMEOUT_MS,
                                      ASAN_OPTIONS="quarantine_size_mb=1"))

    stats = report["stats"]
    assert stats["spans_dropped_queue_full"] > 0
    assert stats["spans_queued"] + stats["spans_dropped_queue_full"] == n
    assert report["rss_after_spans_kb"] - report["rss_before_kb"] < RSS_GROWTH_MAX_KB


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_partial_success_is_read_and_logged_once(build_dir, otlp_receiver, protocol):
    partial = {"status": 200, "partialSuccess": {"rejectedSpans": 3, "errorMessage": "spans too old"}}
    otlp_receiver.script([partial, partial])
    report, warnings = run_load(build_dir, [10], exporter_env(otlp_receiver, OTEL_BSP_MAX_EXPORT_BATCH_SIZE=5,
                                                             OTEL_EXPORTER_OTLP_PROTOCOL=protocol))

    assert len(otlp_receiver.requests()) == 2
    logged = [w for w in warnings if "spans too old" in w]
    assert len(logged) == 1
    assert "rejected 3 of 5 spans" in logged[0]
    assert report["stats"]["spans_exported"] == 4
    assert report["stats"]["spans_export_failed"] == 6


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_gzip_compression_is_sent_and_decodes(build_dir, otlp_receiver, protocol):
    report, _ = run_load(build_dir, [50], exporter_env(otlp_receiver, OTEL_EXPORTER_OTLP_COMPRESSION="gzip",
                                                       OTEL_EXPORTER_OTLP_PROTOCOL=protocol))

    (req,) = otlp_receiver.requests()
    assert req["contentEncoding"] == "gzip"
    assert req["decodeError"] is None
    assert len(span_ids(req)) == 50
    assert report["stats"]["spans_exported"] == 50


def test_an_endpoint_that_never_answered_is_tried_once_and_reported_once(build_dir):
    timeout_ms = 2000
    report, warnings = run_load(build_dir, [10, 0, 10000],
                                {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
                                 "OTEL_EXPORTER_OTLP_TIMEOUT": timeout_ms})

    stats = report["stats"]
    # Nothing ever answered there (no Collector): no backoff, one attempt per export, one line per process.
    assert stats["export_requests"] >= 1
    assert stats["spans_export_failed"] == 10
    assert report["shutdown_ms"] <= SHUTDOWN_SLACK_MS
    assert export_failures(warnings) == []
    assert len([w for w in warnings if "no OTLP receiver at" in w and "OTEL_TRACES_EXPORTER=none" in w]) == 1
