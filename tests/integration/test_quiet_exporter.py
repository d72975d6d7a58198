# No noise without a collector (issue 11, item 1): a daemon whose OTLP endpoint has nobody listening says
# so once (endpoint and the way to silence it), not once per export; the CLI exports only when an endpoint
# is named, so a plain call prints nothing but its own output.
import subprocess
import time

from shop_stack import Frontend, free_port

UNREACHABLE = "no OTLP receiver at"
EXPORT_CYCLES_S = 3.0  # 30 span exports, 15 metric exports at the intervals below


def test_daemon_reports_an_unreachable_endpoint_exactly_once(build_dir, tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"
    fe = Frontend(build_dir, f"http://127.0.0.1:{free_port()}", tmp_path,
                  OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_TRACES_EXPORTER="otlp",
                  OTEL_METRICS_EXPORTER="otlp", OTEL_LOGS_EXPORTER="otlp", OTEL_BSP_SCHEDULE_DELAY="100",
                  OTEL_BLRP_SCHEDULE_DELAY="100", OTEL_METRIC_EXPORT_INTERVAL="200")
    try:
        fe.start()
        deadline = time.monotonic() + EXPORT_CYCLES_S
        while time.monotonic() < deadline:
            assert fe.get("/")[0] == 200
            time.sleep(0.05)
        assert fe.daemon.stop() == 0
        log = fe.daemon.log_text()
    finally:
        fe.close()
    lines = [line for line in log.splitlines() if UNREACHABLE in line]
    assert len(lines) == 1, log
    assert endpoint in lines[0] and "OTEL_TRACES_EXPORTER=none" in lines[0], lines[0]
    assert "failed after" not in log, log
    assert "Stopped" in log


def test_cli_without_an_endpoint_prints_only_its_own_output(build_dir):
    env = {"PATH": "/usr/bin:/bin"}  # no OTEL_* at all: the SDK's default endpoint applies
    port = free_port()
    t0 = time.monotonic()
    out = subprocess.run([str(build_dir / "src/cli/oteldemo"), "--url", f"http://127.0.0.1:{port}", "users", "get",
                          "1"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    elapsed = time.monotonic() - t0
    assert out.returncode == 69
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("oteldemo users get: cannot reach"), out.stderr
    assert "OTLP" not in out.stderr
    assert elapsed < 1.5, f"exit took {elapsed:.2f}s"
