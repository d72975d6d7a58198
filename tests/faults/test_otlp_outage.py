# The OTLP endpoint broken under load (issue 15). The real Collector (our oteldemo-otelcol build) as the
# backend's endpoint, killed and started again (down), and frozen with SIGSTOP (hanging: the kernel
# completes the handshake and queues the requests, nothing answers) and thawed, in the middle of the
# load. Besides, nothing listening for the whole run (no Collector installed: the exporter's
# one-attempt path for an endpoint that never answered), and a test-made endpoint answering 503 to
# everything, kept as a fake because a real Collector does not answer 503 on demand (only its
# memory_limiter refuses data, when memory runs short). The request path never waits for
# the export: the load's p50 and p99 stay within the bounds below of a baseline run, side by side,
# against a healthy endpoint, the backend's RSS grows no more than the baseline's (the span queue is
# bounded), the spans it could not hand on are counted on its /metrics (dropped: queue full; failed
# exports), and export resumes when the endpoint recovers: spans of requests made after it reach the
# Collector, nothing is dropped any more.
import secrets
import time

from faultkit import StatusEndpoint, proc_rss_kb, prometheus_values, request, wait_until
from conftest import free_port

RATE = 60
DURATION = "8s"
RSS_FROM_S = 3.0
QUEUE_SIZE = 64  # OTEL_BSP_MAX_QUEUE_SIZE: small, so that a broken endpoint fills it within seconds
EXPORT_ENV = {
    "OTEL_BSP_MAX_QUEUE_SIZE": QUEUE_SIZE,
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": 32,
    "OTEL_EXPORTER_OTLP_TIMEOUT": 1000,
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}
# p50 and p99 of a fault run may exceed the baseline's (run at the same time) by these factors plus
# these many ms. Issue 15 asks for < 5 % on p99; on a 2-core machine shared with other builds (load
# average 10-25) the p99 of two identical runs side by side differs by -60 %..+100 % (scheduling
# stalls of 100+ ms), so these are the tightest bounds that stay stable; the printed lines give the
# figures. A request path that waited for the export would show the 1 s export timeout in both.
P99_FACTOR, P99_SLACK_MS = 3.0, 50.0
P50_FACTOR, P50_SLACK_MS = 1.5, 2.0
# RSS growth from RSS_FROM_S on may exceed the baseline's by this much (ASan's quarantine grows both
# by ~14 MiB; a release build's RSS stays within a few hundred KiB).
RSS_GROWTH_KB = 4096
DROPPED = 'otel_sdk_processor_span_processed_total'
EXPORTED = 'otel_sdk_exporter_span_exported_total'


def counter(port, name, want):
    """Sum of the samples of name whose labels contain want."""
    return sum(v for labels, v in prometheus_values(port, name).items() if want in labels)


def exported_ok(port):
    return sum(v for labels, v in prometheus_values(port, EXPORTED).items() if "error_type" not in labels)


def sdk_figures(port):
    """The backend's SDK counters: spans dropped (queue full), failed in export, exported."""
    return {"dropped": counter(port, DROPPED, 'error_type="queue_full"'),
            "failed": counter(port, EXPORTED, 'error_type="_OTHER"'), "exported_ok": exported_ok(port)}


def sleep_until(t):
    time.sleep(max(0.0, t - time.monotonic()))


class Run:
    """One backend under load and its figures: summary (with "failures": no reply or 5xx), RSS growth
    in KiB from RSS_FROM_S into the run to its end, and the SDK's own counters."""

    def __init__(self, s, load, duration=DURATION):
        self.shop = s
        self.load = load(s.backend.url, rate=RATE, duration=duration, mix="browse=80,user=20", concurrency=16)

    def sample_rss(self):
        self.rss_early = proc_rss_kb(self.shop.backend.daemon.proc.pid)

    def finish(self):
        self.summary, lines = self.load.result()
        self.summary["failures"] = sum(1 for line in lines if line["status"] == 0 or line["status"] >= 500)
        self.p50, self.p99 = self.summary["latency_ms"]["p50"], self.summary["latency_ms"]["p99"]
        self.rss_growth = proc_rss_kb(self.shop.backend.daemon.proc.pid) - self.rss_early
        self.figures = sdk_figures(self.shop.backend.port)


def paired_runs(shop, load, fault_url):
    """The same load at the same time against two backends, one exporting to an endpoint that answers
    200 (the baseline), one to fault_url: both see the same machine, so their p99s compare."""
    healthy = StatusEndpoint(200)
    try:
        with shop(frontend=False, otlp_endpoint=healthy.url, backend_env=EXPORT_ENV) as base_shop, \
                shop(frontend=False, otlp_endpoint=fault_url, backend_env=EXPORT_ENV) as fault_shop:
            base, fault = Run(base_shop, load), Run(fault_shop, load)
            t0 = base.load.t0()
            sleep_until(t0 + RSS_FROM_S)  # past the queue's filling
            base.sample_rss()
            fault.sample_rss()
            base.finish()
            fault.finish()
            return base, fault
    finally:
        healthy.close()


def check_paired(name, base, fault):
    """The request figures of a fault run against its baseline's (see the bounds above)."""
    print(f"\n{name}: p50 {fault.p50} ms vs baseline {base.p50} ms ({100 * (fault.p50 / base.p50 - 1):+.0f} %), "
          f"p99 {fault.p99} ms vs baseline {base.p99} ms ({100 * (fault.p99 / base.p99 - 1):+.0f} %), "
          f"RSS {fault.rss_growth:+d} KiB (baseline {base.rss_growth:+d}), {fault.figures}")
    assert base.summary["failures"] == 0 and base.figures["dropped"] == 0, (base.summary, base.figures)
    assert base.figures["exported_ok"] > 0, base.figures
    assert fault.summary["failures"] == 0, fault.summary
    assert fault.p50 <= base.p50 * P50_FACTOR + P50_SLACK_MS, (fault.p50, base.p50)
    assert fault.p99 <= base.p99 * P99_FACTOR + P99_SLACK_MS, (fault.p99, base.p99)
    assert fault.rss_growth < base.rss_growth + RSS_GROWTH_KB, (fault.rss_growth, base.rss_growth)


def check_fault(shop, load, name, endpoint_url):
    base, fault = paired_runs(shop, load, endpoint_url)
    check_paired(name, base, fault)
    return fault.figures


def test_otlp_endpoint_down_costs_requests_nothing_and_is_counted(shop, load):
    figures = check_fault(shop, load, "nothing listening", f"http://127.0.0.1:{free_port()}/")
    assert figures["failed"] > 0 and figures["exported_ok"] == 0, figures


def test_otlp_endpoint_answering_503_costs_requests_nothing_and_is_counted(shop, load):
    endpoint = StatusEndpoint(503)
    try:
        figures = check_fault(shop, load, "503 to everything", endpoint.url)
        assert endpoint.count(503) > 0 and figures["exported_ok"] == 0, figures
        assert figures["dropped"] + figures["failed"] > 0, figures
    finally:
        endpoint.close()


def test_otlp_export_resumes_when_the_endpoint_answers_again(shop, load):
    endpoint = StatusEndpoint(503)
    try:
        with shop(frontend=False, otlp_endpoint=endpoint.url, backend_env=EXPORT_ENV) as s:
            run = load(s.backend.url, rate=RATE, duration="6s", mix="browse=100", concurrency=8)
            wait_until(lambda: endpoint.count(503) >= 3, timeout=10, what="three refused exports")
            endpoint.status = 200
            summary, lines = run.result()
            took = wait_until(lambda: exported_ok(s.backend.port) > 0, timeout=15,
                              what="spans exported after the endpoint recovered")
            assert endpoint.count(200) > 0
            assert all(0 < line["status"] < 500 for line in lines)
            print(f"\nexport resumed {took:.2f}s after the run; {endpoint.answered}")
    finally:
        endpoint.close()


# The real Collector broken in the middle of a longer run: healthy for FAULT_AT_S, broken until
# RECOVER_AT_S (and the restart or SIGCONT), then healthy again to the end.
COLLECTOR_DURATION = "14s"
FAULT_AT_S, RECOVER_AT_S = 4.0, 8.0
# After recovery: the export that was in flight ends at its 1 s timeout, the queue of QUEUE_SIZE spans
# drains in a batch or two; from then on no span is dropped.
RESUME_GRACE_S = 3.0
MARKERS = 5  # requests with a known trace id, sent after the grace, looked for in the Collector's file
RESUME_TIMEOUT_S = 15


def traced_get(port, path):
    """GET path with a sampled traceparent of a new trace; returns its trace id."""
    trace_id = secrets.token_hex(16)
    status, _, _ = request(port, "GET", path, headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
    assert status == 200, status
    return trace_id


def check_collector_fault(shop, load, collector, name, break_, mend):
    """A baseline backend exporting to one real Collector and a fault backend exporting to another,
    under the same load side by side; break_(fault collector) at FAULT_AT_S, mend() at RECOVER_AT_S.
    Asserts what check_paired does, that the fault was counted (drops and failed exports), and that
    export resumed: no drop after the grace, spans of requests made then in the Collector's file."""
    base_col, fault_col = collector(), collector()
    with shop(frontend=False, otlp_endpoint=base_col.url, backend_env=EXPORT_ENV) as base_shop, \
            shop(frontend=False, otlp_endpoint=fault_col.url, backend_env=EXPORT_ENV) as fault_shop:
        base, fault = Run(base_shop, load, COLLECTOR_DURATION), Run(fault_shop, load, COLLECTOR_DURATION)
        port = fault_shop.backend.port
        t0 = base.load.t0()
        sleep_until(t0 + RSS_FROM_S)
        base.sample_rss()
        fault.sample_rss()
        sleep_until(t0 + FAULT_AT_S)
        healthy = sdk_figures(port)
        break_(fault_col)
        sleep_until(t0 + RECOVER_AT_S)
        mend(fault_col)
        recovered_at = time.monotonic() - t0
        broken = sdk_figures(port)
        sleep_until(time.monotonic() + RESUME_GRACE_S)
        resumed = sdk_figures(port)
        markers = [traced_get(port, "/api/products/1") for _ in range(MARKERS)]
        base.finish()
        fault.finish()
        took = wait_until(lambda: all(t in fault_col.trace_ids() for t in markers), timeout=RESUME_TIMEOUT_S,
                          what="the spans of the requests after recovery in the Collector's file")
        accepted = fault_col.accepted_spans()
    check_paired(name, base, fault)
    end = fault.figures
    print(f"{name}: before the fault {healthy}, at recovery ({recovered_at:.1f} s) {broken}, "
          f"{RESUME_GRACE_S:.0f} s later {resumed}, at the end {end}; markers in the Collector's file "
          f"{took:.2f} s after the run; Collector accepted {accepted:.0f} spans since its last start")
    assert healthy["dropped"] == 0 and healthy["failed"] == 0 and healthy["exported_ok"] > 0, healthy
    assert broken["dropped"] > 0 and broken["failed"] > 0, broken
    assert end["dropped"] == resumed["dropped"] and end["failed"] == resumed["failed"], (resumed, end)
    assert end["exported_ok"] > resumed["exported_ok"] > broken["exported_ok"], (broken, resumed, end)
    assert accepted > 0


def test_collector_killed_and_restarted_costs_requests_nothing_and_export_resumes(shop, load, collector):
    check_collector_fault(shop, load, collector, "Collector killed, restarted",
                          lambda c: c.kill(), lambda c: c.start())


def test_collector_frozen_and_thawed_costs_requests_nothing_and_export_resumes(shop, load, collector):
    check_collector_fault(shop, load, collector, "Collector SIGSTOPped, SIGCONTed",
                          lambda c: c.freeze(), lambda c: c.thaw())
