# The oteldemo CLI and load generator (src/cli), issue 6.
#
# Two groups of tests:
# - transport-level behaviour of the CLI itself (exit codes, error lines, traceparent, rate accuracy,
#   coordinated omission, SIGINT, exit time without a collector) against a small stdlib HTTP server
#   started by the test: these check the client, not the shop;
# - every command against the real shop: oteldemo-backend over a throwaway PostgreSQL (shop_stack.py,
#   pg.py) with oteldemo-frontend in front for health and trace continuity, spans decoded by the
#   independent OTLP receiver, counts compared with the backend's own /metrics.
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from conftest import program_argv, scaled
from pg import pg_cluster  # noqa: F401  (pytest fixture)
from pki import pki, tls_server_config  # noqa: F401  (pki: pytest fixture)
from shop_stack import (Backend, LocalHttpServer, free_port, request, request_json, running_shop,
                        wait_for_spans, workdir)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
COMPLETION = REPO / "src/cli/oteldemo.bash-completion"

ADMIN_TOKEN = "cli-test-admin-token-0123456789"
TRACE_ID_RE = r"[0-9a-f]{32}"
TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$")
SPAN_KIND_SERVER = 2
SPAN_KIND_CLIENT = 3
CLI_TIMEOUT_S = 90
# The CLI gives a missing collector this long at exit (CLI_OTEL_SHUTDOWN_TIMEOUT_MS), plus process start.
SHUTDOWN_BOUND_S = 2.0
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONNECT = 0, 1, 2, 69  # src/common/exit-status.h


@pytest.fixture(scope="session")
def cli_path(build_dir):
    path = build_dir / "src/cli/oteldemo"
    assert path.is_file(), f"{path} is not built"
    return path


def cli_env(receiver=None, **extra):
    """No developer OTEL_*/OTELDEMO_* settings; spans to receiver, or no exporter at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OTELDEMO_"))}
    if receiver is not None:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        env["OTEL_BSP_SCHEDULE_DELAY"] = "100"
    else:
        env["OTEL_TRACES_EXPORTER"] = "none"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_cli(cli_path, *args, url=None, receiver=None, env=None, timeout=CLI_TIMEOUT_S):
    argv = [str(cli_path)] + (["--url", url] if url else []) + [str(a) for a in args]
    full_env = cli_env(receiver, **(env or {}))
    return subprocess.run(program_argv(argv), env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=scaled(timeout))


def one_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {lines!r}"
    return lines[0]


def table_rows(stdout):
    """A table printed by the CLI: header words and rows split on runs of 2+ spaces."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    return [re.split(r"\s{2,}", line.strip()) for line in lines]


def record(stdout):
    """A 'KEY  value' record printed by the CLI, as a dict."""
    out = {}
    for line in stdout.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition("  ")
        out[key.strip()] = value.strip()
    return out


# ---- a stand-in HTTP server for transport-level tests ---------------------------------------------

class StubServer(LocalHttpServer):
    """An HTTP server answering from a table {(method, path): (status, body, delay_s)}; records every
    request (method, path, headers, body)."""

    def __init__(self, routes=None, default=(200, {"items": [], "total": 0}, 0.0)):
        self.routes = dict(routes or {})
        self.default = default
        self.requests = []
        self.lock = threading.Lock()
        self.first_request = threading.Event()  # set when the first request arrives
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are written separately: without this, Nagle + delayed ACK add 40 ms.
            disable_nagle_algorithm = True

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                with stub.lock:
                    stub.requests.append({"method": self.command, "path": self.path,
                                          "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": body.decode(errors="replace")})
                stub.first_request.set()
                status, reply, delay = stub.routes.get((self.command, path), stub.default)
                if delay:
                    time.sleep(delay)
                data = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(reply, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args):
                pass

        super().__init__(Handler)


def run_against(stub, cli_path, *args):
    """run_cli() against stub, which is closed afterwards (its recorded requests stay readable)."""
    try:
        return run_cli(cli_path, *args, url=stub.url)
    finally:
        stub.close()


def json_summary(out):
    """The JSON summary a successful `--output json load` printed."""
    assert out.returncode == EXIT_OK, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def stub():
    s = StubServer({
        ("GET", "/api/users/1"): (200, {"id": 1, "name": "Ann Example", "email": "ann@example.com",
                                        "created_at": "2025-01-01T00:00:00Z"}, 0),
        ("GET", "/api/users/404"): (404, {"error": "user 404 not found",
                                          "trace_id": "0af7651916cd43dd8448eb211c80319c"}, 0),
        ("GET", "/api/users/502"): (502, "Bad Gateway from a proxy\nsecond line", 0),
        ("GET", "/api/users/2"): (200, {"id": 2}, 2.0),
    })
    yield s
    s.close()


def test_connection_refused_exits_69_with_one_line(cli_path):
    port = free_port()
    out = run_cli(cli_path, "users", "get", "1", url=f"http://127.0.0.1:{port}")
    assert out.returncode == EXIT_CONNECT
    line = one_line(out.stderr)
    assert line.startswith(f"oteldemo users get: cannot reach http://127.0.0.1:{port}: ")
    assert re.search(rf"\(trace_id {TRACE_ID_RE}\)$", line)
    assert out.stdout == ""


def test_api_error_shows_message_and_server_trace_id_exit_1(cli_path, stub):
    out = run_cli(cli_path, "users", "get", "404", url=stub.url)
    assert out.returncode == EXIT_FAILED
    assert one_line(out.stderr) == ("oteldemo users get: HTTP 404: user 404 not found "
                                    "(trace_id 0af7651916cd43dd8448eb211c80319c)")
    assert out.stdout == ""


def test_non_json_error_shows_first_line_of_body(cli_path, stub):
    out = run_cli(cli_path, "users", "get", "502", url=stub.url)
    assert out.returncode == EXIT_FAILED
    assert re.fullmatch(rf"oteldemo users get: HTTP 502: Bad Gateway from a proxy \(trace_id {TRACE_ID_RE}\)",
                        one_line(out.stderr))


def test_timeout_exits_69(cli_path, stub):
    t0 = time.monotonic()
    out = run_cli(cli_path, "--timeout", "300ms", "users", "get", "2", url=stub.url)
    assert out.returncode == EXIT_CONNECT
    assert "cannot reach" in out.stderr and "imed out" in out.stderr
    assert time.monotonic() - t0 < 1.5 + SHUTDOWN_BOUND_S


def test_traceparent_is_injected_and_verbose_prints_its_trace_id(cli_path, stub):
    out = run_cli(cli_path, "--verbose", "users", "get", "1", url=stub.url)
    assert out.returncode == EXIT_OK, out.stderr
    sent = stub.requests[-1]
    m = TRACEPARENT_RE.match(sent["headers"]["traceparent"])
    assert m, sent["headers"]
    assert f"trace_id {m.group(1)}" in out.stderr.splitlines()
    assert sent["headers"]["user-agent"].startswith("oteldemo-cli/")
    assert sent["headers"]["accept"] == "application/json"


def test_cli_span_is_exported_as_root_client_span_of_the_propagated_context(cli_path, stub, otlp_receiver):
    out = run_cli(cli_path, "users", "get", "1", url=stub.url, receiver=otlp_receiver)
    assert out.returncode == EXIT_OK, out.stderr
    trace_id, parent_id = TRACEPARENT_RE.match(stub.requests[-1]["headers"]["traceparent"]).groups()
    spans = wait_for_spans(otlp_receiver, trace_id, lambda s: len(s) >= 1)
    (span,) = spans
    assert span["service"] == "oteldemo-cli"
    assert span["kind"] == SPAN_KIND_CLIENT
    assert span["span_id"] == parent_id
    assert span["parent"] == ""
    assert span["name"] == "GET /api/users/{id}"
    assert span["attrs"]["http.request.method"] == "GET"
    assert span["attrs"]["url.full"] == f"{stub.url}/api/users/1"
    assert span["attrs"]["http.response.status_code"] == 200
    assert span["attrs"]["server.address"] == "127.0.0.1"


def test_missing_collector_delays_exit_by_at_most_the_shutdown_bound(cli_path, stub):
    t0 = time.monotonic()
    out = run_cli(cli_path, "users", "get", "1", url=stub.url,
                  env={"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}"})
    elapsed = time.monotonic() - t0
    assert out.returncode == EXIT_OK
    assert elapsed < SHUTDOWN_BOUND_S + 1.0, f"exit took {elapsed:.2f}s"


def test_oteldemo_url_environment_variable_is_the_default_url(cli_path, stub):
    out = run_cli(cli_path, "--output", "json", "users", "get", "1", env={"OTELDEMO_URL": stub.url})
    assert out.returncode == EXIT_OK, out.stderr
    assert json.loads(out.stdout)["email"] == "ann@example.com"


@pytest.mark.parametrize("args, message", [
    ([], "oteldemo: missing command (see 'oteldemo --help')"),
    (["shop"], "oteldemo: unknown command 'shop' (see 'oteldemo --help')"),
    (["--output", "yaml", "health"], "oteldemo: invalid --output 'yaml' (expected table or json)"),
    (["--url", "ftp://x", "health"], "oteldemo: invalid --url 'ftp://x' (expected http://HOST[:PORT])"),
    (["--timeout", "soon", "health"], None),
    (["users"], None),
    (["users", "delete"], "oteldemo users: unknown subcommand 'delete' (see 'oteldemo users --help')"),
    (["users", "get"], "oteldemo users get: missing ID"),
    (["users", "get", "0"], "oteldemo users get: invalid ID '0' (expected a whole number > 0)"),
    (["users", "get", "abc"], "oteldemo users get: invalid ID 'abc' (expected a whole number > 0)"),
    (["users", "get", "1", "2"], "oteldemo users get: unexpected argument '2'"),
    (["users", "create", "--name", "Ann"], "oteldemo users create: --email is required"),
    (["users", "create", "--name", "Ann", "--email", "nope"], None),
    (["products", "list", "--limit", "0"], "oteldemo products list: invalid --limit '0' (expected 1..200)"),
    (["products", "list", "--bogus"], "oteldemo products list: unknown option '--bogus'"),
    (["orders", "create", "--user", "1", "--product", "2"], "oteldemo orders create: --quantity is required"),
    (["orders", "create", "--user", "1", "--product", "2", "--quantity", "0"],
     "oteldemo orders create: invalid --quantity '0' (expected 1..1000)"),
    (["orders", "create", "--user", "1", "--product", "2", "--quantity", "1001"],
     "oteldemo orders create: invalid --quantity '1001' (expected 1..1000)"),
    (["orders", "create", "--user", "-1", "--product", "2", "--quantity", "1"], None),
    (["orders", "list"], "oteldemo orders list: --user is required"),
    (["faults", "set"], "oteldemo faults set: expected at least one KEY=VALUE"),
    (["--token", "t0123456789abcdef", "faults", "set", "colour=red"], None),
    (["--token", "t0123456789abcdef", "faults", "set", "payment_failure_rate=2"],
     "oteldemo faults set: invalid payment_failure_rate '2' (expected 0..1)"),
    (["faults", "set", "payment_latency_ms=5"],
     "oteldemo faults set: the admin token is required (--token, OTELDEMO_TOKEN, --token-file or OTELDEMO_TOKEN_FILE)"),
    (["load", "--rate", "0"], None),
    (["load", "--rate", "fast"], None),
    (["load", "--duration", "10x"], "oteldemo load: invalid --duration '10x' (expected e.g. 500ms, 10s, 2m, 1h)"),
    (["load", "--concurrency", "0"], "oteldemo load: invalid --concurrency '0' (expected 1..1024)"),
    (["load", "--retries", "1001"], "oteldemo load: invalid --retries '1001' (expected 0..1000)"),
    (["load", "--retries", "-1"], "oteldemo load: invalid --retries '-1' (expected 0..1000)"),
    (["load", "--record", ""], "oteldemo load: --record needs a file name"),
    (["load", "--mix", "browse=70,order=20"],
     "oteldemo load: invalid --mix 'browse=70,order=20': the percentages must add up to 100"),
    (["load", "--mix", "browse=70,pay=30"],
     "oteldemo load: invalid --mix 'browse=70,pay=30': kinds are browse, order and user"),
    (["health", "extra"], "oteldemo health: unexpected argument 'extra'"),
    # Global options after the command (issue 11): the same checks as in front of it.
    (["health", "--output", "yaml"], "oteldemo: invalid --output 'yaml' (expected table or json)"),
    (["health", "--output"], "oteldemo: option '--output' needs a value"),
    (["users", "get", "1", "--url=ftp://x"], "oteldemo: invalid --url 'ftp://x' (expected http://HOST[:PORT])"),
])
def test_usage_errors_exit_2_with_one_clear_line(cli_path, args, message):
    # A closed port: a usage error must be found before any request is made.
    out = run_cli(cli_path, *args, env={"OTELDEMO_URL": f"http://127.0.0.1:{free_port()}"})
    assert out.returncode == EXIT_USAGE, (out.returncode, out.stderr)
    line = one_line(out.stderr)
    assert line.startswith("oteldemo")
    if message:
        assert line == message
    assert out.stdout == ""


@pytest.mark.parametrize("args", [
    ["--help"], ["users", "--help"], ["users", "create", "--help"], ["products", "--help"],
    ["products", "list", "--help"], ["orders", "--help"], ["orders", "create", "--help"],
    ["faults", "--help"], ["faults", "set", "--help"], ["health", "--help"], ["load", "--help"],
])
def test_help_for_every_command(cli_path, args):
    out = run_cli(cli_path, *args, env={"OTELDEMO_URL": f"http://127.0.0.1:{free_port()}"})
    assert out.returncode == EXIT_OK
    assert out.stdout.startswith("Usage: oteldemo")
    assert out.stderr == ""


def test_load_achieves_the_target_rate_open_loop(cli_path):
    stub = StubServer()
    out = run_against(stub, cli_path, "--output", "json", "load", "--rate", "200", "--duration", "6",
                      "--concurrency", "8", "--seed", "1")
    summary = json_summary(out)
    assert summary["requests"] == 1200
    assert summary["errors"] == 0
    # Open loop: the run ends one reply after its last scheduled send, so elapsed exceeds the
    # duration by at most the slowest reply (plus scheduling); a closed loop behind a slow server
    # would fall behind by many replies. Both checks, always.
    assert summary["elapsed_s"] <= summary["duration_s"] + summary["latency_ms"]["max"] / 1000 + 0.1, summary
    assert abs(summary["achieved_rate"] - 200) / 200 < 0.05, summary
    assert sum(e["count"] for e in summary["endpoints"]) == 1200
    assert len(stub.requests) == 1200
    # Not a terminal: plain progress lines every 5 s on stderr.
    assert re.search(r"^elapsed 5\.\ds  requests \d+  rate [\d.]+/s \(target 200\.0/s\)  errors 0  p50 [\d.]+ms  "
                     r"p99 [\d.]+ms$", out.stderr, re.M), out.stderr


def test_load_json_rounds_latencies_rates_and_times(cli_path):
    # Issue 11: numbers a person reads, not json-c's 17 significant digits.
    stub = StubServer(default=(200, {"items": [], "total": 0}, 0.003))
    out = run_against(stub, cli_path, "load", "--rate", "30", "--duration", "1", "--seed", "2", "--output", "json")
    summary = json_summary(out)
    decimals = {"target_rate": 2, "achieved_rate": 2, "duration_s": 3, "elapsed_s": 3}
    decimals.update({f"latency_ms.{k}": 3 for k in summary["latency_ms"]})
    for key, places in decimals.items():
        name = key.split(".")[-1]
        m = re.search(rf'"{name}":\s*(-?[0-9.]+)', out.stdout)
        assert m, (key, out.stdout)
        assert re.fullmatch(rf"-?\d+(\.\d{{1,{places}}})?", m.group(1)), (key, m.group(1))
    assert summary["latency_ms"]["p50"] >= 3.0, summary["latency_ms"]


def test_load_latency_counts_from_the_intended_start(cli_path):
    """A server that takes 200 ms per request, one worker, 10 requests/s for 1 s: requests queue up, and
    the last one (due at 0.9 s, done at ~2.0 s) must show ~1.1 s, not the 0.2 s of service time."""
    stub = StubServer(default=(200, {"items": [], "total": 0}, 0.2))
    summary = json_summary(run_against(stub, cli_path, "--output", "json", "load", "--rate", "10", "--duration", "1",
                                       "--concurrency", "1", "--seed", "3"))
    assert summary["requests"] == 10
    assert summary["latency_ms"]["max"] > 1000, summary["latency_ms"]
    assert summary["latency_ms"]["p50"] > 500, summary["latency_ms"]
    assert summary["achieved_rate"] < 6, summary


SIGINT_AFTER_S = 1.0
SIGINT_EXIT_BOUND_S = 1.0  # the CLI promises to exit within 500 ms of SIGINT; twice that for ASan


def test_load_sigint_stops_cleanly_and_prints_the_summary(cli_path):
    stub = StubServer()
    try:
        proc = subprocess.Popen([str(cli_path), "--url", stub.url, "--output", "json", "load", "--rate", "50",
                                 "--duration", "60", "--seed", "5"],
                                env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Timed from the load's first request as the server saw it, not from the process start (which
        # a slow start-up under ASan would eat into).
        assert stub.first_request.wait(timeout=10), "the load sent no request"
        time.sleep(SIGINT_AFTER_S)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=10)
        stopped_in = time.monotonic() - signalled
    finally:
        stub.close()
    assert proc.returncode == EXIT_OK, stderr
    summary = json.loads(stdout)
    assert summary["interrupted"] is True
    assert stopped_in < SIGINT_EXIT_BOUND_S, stopped_in
    # 50/s open loop for SIGINT_AFTER_S after the first request: 1 + 50 requests, give or take the
    # scheduling of a busy machine.
    assert 45 <= summary["requests"] <= 65, summary["requests"]
    assert SIGINT_AFTER_S <= summary["elapsed_s"] < SIGINT_AFTER_S + SIGINT_EXIT_BOUND_S + 0.5, summary


def test_load_table_summary_lists_endpoints_statuses_and_percentiles(cli_path):
    out = run_against(StubServer(), cli_path, "load", "--rate", "100", "--duration", "1", "--seed", "9")
    assert out.returncode == EXIT_OK, out.stderr
    assert out.stdout.startswith("load: 100 requests in ")
    assert re.search(r"^rate: [\d.]+/s achieved, 100\.0/s target", out.stdout, re.M)
    assert re.search(r"^GET /api/products\s+200\s+\d+$", out.stdout, re.M)
    assert re.search(r"^latency from intended start \(ms\): p50 [\d.]+ p90 [\d.]+ p99 [\d.]+ p99\.9 [\d.]+ "
                     r"max [\d.]+ mean [\d.]+$", out.stdout, re.M)


def test_load_gives_up_with_exit_3_when_nothing_answers(cli_path):
    out = run_cli(cli_path, "load", "--rate", "100", "--duration", "30", url=f"http://127.0.0.1:{free_port()}",
                  timeout=20)
    assert out.returncode == EXIT_CONNECT
    assert "cannot reach" in out.stderr


def read_record(path):
    """The JSON lines of `load --record`."""
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_load_record_to_an_unwritable_file_is_exit_1(cli_path, shop, tmp_path):
    out = run_cli(cli_path, "load", "--rate", "10", "--duration", "1",
                  "--record", tmp_path / "missing-dir" / "record.jsonl", url=shop.frontend.url)
    assert out.returncode == EXIT_FAILED
    assert "oteldemo load: cannot create " in out.stderr and "No such file or directory" in out.stderr


def test_load_record_write_failure_is_exit_1(cli_path, shop):
    out = run_cli(cli_path, "load", "--rate", "20", "--duration", "0.5s", "--record", "/dev/full",
                  url=shop.frontend.url)
    assert out.returncode == EXIT_FAILED
    assert one_line(out.stderr) == "oteldemo load: cannot write /dev/full: No space left on device"


# ---- bash completion ----------------------------------------------------------------------------

def complete(words, cword=None):
    """Candidates of _oteldemo for COMP_WORDS=words (the last word is being completed)."""
    cword = len(words) - 1 if cword is None else cword
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    script = (f"source '{COMPLETION}'\nCOMP_WORDS=({quoted})\nCOMP_CWORD={cword}\n"
              "COMP_LINE=\"${COMP_WORDS[*]}\"\n_oteldemo\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line]


@pytest.mark.parametrize("words, expected", [
    (["oteldemo", ""], ["users", "products", "orders", "faults", "health", "load"]),
    (["oteldemo", "pr"], ["products"]),
    (["oteldemo", "--"], ["--url", "--output", "--timeout", "--token", "--token-file", "--write-token-file",
                          "--admin-url", "--cacert", "--cert", "--key", "--verbose", "--help", "--version"]),
    (["oteldemo", "--cacert", "/etc/debian_v"], ["/etc/debian_version"]),  # base-files: on every Debian
    # (not /etc/hostname: a debootstrap root has none; scripts/test-fresh found it)
    (["oteldemo", "--cacert", "/etc/debian_version", "he"], ["health"]),
    (["oteldemo", "--output", ""], ["table", "json"]),
    (["oteldemo", "--output", "json", "us"], ["users"]),
    (["oteldemo", "--url", "http://x:8080", "orders", ""], ["create", "get", "list", "--help"]),
    (["oteldemo", "orders", "create", "--"], ["--user", "--product", "--quantity", "--idempotency-key", "--help"]),
    (["oteldemo", "products", "list", "--q"], ["--query"]),
    (["oteldemo", "load", "--"], ["--rate", "--duration", "--concurrency", "--mix", "--seed", "--retries",
                                   "--record", "--help"]),
    (["oteldemo", "load", "--rate", ""], []),
    (["oteldemo", "faults", "set", "payment_l"], ["payment_latency_ms="]),
    (["oteldemo", "users", "create", "--name", "Ann", "--e"], ["--email"]),
])
def test_bash_completion(words, expected):
    assert complete(words) == expected


# ---- the real shop ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shop(build_dir, pg_cluster, receiver):  # noqa: F811
    """Backend over migrated sample data, with an admin token, and the frontend in front of it."""
    with running_shop(build_dir, pg_cluster, receiver, backend_config={"admin": {"token": ADMIN_TOKEN}}) as shop:
        yield shop


def api(shop, path):
    status, _, body = request_json(shop.backend.port, "GET", path)
    assert status == 200, (path, status, body)
    return body


def test_users_list_json_is_the_api_reply(cli_path, shop):
    out = run_cli(cli_path, "--output", "json", "users", "list", "--limit", "5", url=shop.backend.url)
    assert out.returncode == EXIT_OK, out.stderr
    assert json.loads(out.stdout) == api(shop, "/api/users?limit=5&offset=0")


def test_users_list_table(cli_path, shop):
    out = run_cli(cli_path, "users", "list", "--limit", "5", "--offset", "3", url=shop.backend.url)
    assert out.returncode == EXIT_OK, out.stderr
    expected = api(shop, "/api/users?limit=5&offset=3")
    rows = table_rows(out.stdout)
    assert rows[0] == ["ID", "NAME", "EMAIL", "CREATED"]
    assert [int(r[0]) for r in rows[1:-1]] == [u["id"] for u in expected["items"]]
    assert [r[2] for r in rows[1:-1]] == [u["email"] for u in expected["items"]]
    assert out.stdout.splitlines()[-1] == f"(5 of {expected['total']})"


def test_users_get_both_formats(cli_path, shop):
    expected = api(shop, "/api/users/1")
    out = run_cli(cli_path, "--output", "json", "users", "get", "1", url=shop.backend.url)
    assert out.returncode == EXIT_OK and json.loads(out.stdout) == expected
    out = run_cli(cli_path, "users", "get", "1", url=shop.backend.url)
    assert out.returncode == EXIT_OK
    assert record(out.stdout) == {"ID": "1", "NAME": expected["name"], "EMAIL": expected["email"],
                                  "CREATED": expected["created_at"]}


def test_users_get_unknown_is_404_exit_1_with_message_and_trace_id(cli_path, shop):
    out = run_cli(cli_path, "--verbose", "users", "get", "987654321", url=shop.backend.url)
    assert out.returncode == EXIT_FAILED
    own = re.search(rf"^trace_id ({TRACE_ID_RE})$", out.stderr, re.M).group(1)
    error = out.stderr.splitlines()[-1]
    # The backend continues the CLI's trace, so the id in its error body is the CLI's own.
    assert re.fullmatch(rf"oteldemo users get: HTTP 404: .+ \(trace_id {own}\)", error), error


def test_users_create_both_formats(cli_path, shop):
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    out = run_cli(cli_path, "--output", "json", "users", "create", "--name", "Zoë CLI", "--email", email,
                  url=shop.backend.url)
    assert out.returncode == EXIT_OK, out.stderr
    user = json.loads(out.stdout)
    assert user["name"] == "Zoë CLI" and user["email"] == email and user["id"] > 0
    assert api(shop, f"/api/users/{user['id']}")["email"] == email
    email2 = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    out = run_cli(cli_path, "users", "create", "--name", "Table Person", "--email", email2, url=shop.backend.url)
    assert out.returncode == EXIT_OK, out.stderr
    rec = record(out.stdout)
    assert rec["NAME"] == "Table Person" and rec["EMAIL"] == email2 and int(rec["ID"]) > user["id"]


def test_users_create_invalid_is_400_exit_1(cli_path, shop):
    out = run_cli(cli_path, "users", "create", "--name", "x" * 300, "--email", "long@example.com",
                  url=shop.backend.url)
    assert out.returncode == EXIT_FAILED
    assert re.fullmatch(rf"oteldemo users create: HTTP 400: .+ \(trace_id {TRACE_ID_RE}\)", one_line(out.stderr))


def test_products_list_query_and_limit_both_formats(cli_path, shop):
    first = api(shop, "/api/products?limit=1")["items"][0]
    word = re.findall(r"[A-Za-z]{3,}", first["name"])[0]
    expected = api(shop, f"/api/products?offset=0&limit=3&q={word}")
    out = run_cli(cli_path, "--output", "json", "products", "list", "--query", word, "--limit", "3",
                  url=shop.backend.url)
    assert out.returncode == EXIT_OK, out.stderr
    assert json.loads(out.stdout) == expected
    assert 1 <= len(expected["items"]) <= 3
    out = run_cli(cli_path, "products", "list", "--query", word, "--limit", "3", url=shop.backend.url)
    rows = table_rows(out.stdout)
    assert rows[0] == ["ID", "SKU", "NAME", "PRICE", "STOCK"]
    assert [int(r[0]) for r in rows[1:-1]] == [p["id"] for p in expected["items"]]


def test_global_options_work_after_the_command_as_readme_shows(cli_path, shop):
    # README: "oteldemo load ... --output json"; git/kubectl users put global options anywhere.
    out = run_cli(cli_path, "users", "list", "--limit", "5", "--output", "json", "--url", shop.backend.url)
    assert out.returncode == EXIT_OK, out.stderr
    assert json.loads(out.stdout) == api(shop, "/api/users?limit=5&offset=0")
    out = run_cli(cli_path, "load", "--rate", "20/s", "--duration", "1s", "--mix", "browse=100",
                  f"--url={shop.backend.url}", "--output", "json")
    assert out.returncode == EXIT_OK, out.stderr
    assert json.loads(out.stdout)["requests"] > 0


def test_products_api_takes_the_clis_query_name_as_well_as_q(cli_path, shop):
    first = api(shop, "/api/products?limit=1")["items"][0]
    word = re.findall(r"[A-Za-z]{3,}", first["name"])[0]
    by_q = api(shop, f"/api/products?limit=3&q={word}")
    assert by_q["items"], by_q
    assert api(shop, f"/api/products?limit=3&query={word}") == by_q
    status, _, body = request_json(shop.backend.port, "GET", f"/api/products?q={word}&query=other")
    assert status == 400 and body["error"] == "give the search text once: q and query differ", body


def test_products_get_both_formats(cli_path, shop):
    expected = api(shop, "/api/products/2")
    out = run_cli(cli_path, "--output", "json", "products", "get", "2", url=shop.backend.url)
    assert out.returncode == EXIT_OK and json.loads(out.stdout) == expected
    out = run_cli(cli_path, "products", "get", "2", url=shop.backend.url)
    rec = record(out.stdout)
    cents = expected["price_cents"]
    assert rec["PRICE"] == f"{cents // 100}.{cents % 100:02d} {expected['currency']}"
    assert rec["SKU"] == expected["sku"] and rec["STOCK"] == str(expected["stock"])


def test_products_get_unknown_is_404(cli_path, shop):
    out = run_cli(cli_path, "products", "get", "99999999", url=shop.backend.url)
    assert out.returncode == EXIT_FAILED
    assert "products get: HTTP 404: " in one_line(out.stderr)


def test_orders_create_get_list_both_formats(cli_path, shop):
    out = run_cli(cli_path, "--output", "json", "orders", "create", "--user", "3", "--product", "5",
                  "--quantity", "2", url=shop.backend.url)
    assert out.returncode == EXIT_OK, out.stderr
    order = json.loads(out.stdout)
    assert order["user_id"] == 3 and order["items"][0]["product_id"] == 5 and order["items"][0]["quantity"] == 2
    out = run_cli(cli_path, "--output", "json", "orders", "get", order["id"], url=shop.backend.url)
    assert json.loads(out.stdout) == api(shop, f"/api/orders/{order['id']}")
    out = run_cli(cli_path, "orders", "get", order["id"], url=shop.backend.url)
    assert out.returncode == EXIT_OK
    rec = record(out.stdout)
    assert rec["ID"] == str(order["id"]) and rec["USER"] == "3" and rec["ITEMS"] == "1"
    items = table_rows(out.stdout.split("\n\n", 1)[1])
    assert items[0] == ["PRODUCT", "QUANTITY", "UNIT PRICE"] and items[1][:2] == ["5", "2"]
    out = run_cli(cli_path, "--output", "json", "orders", "list", "--user", "3", url=shop.backend.url)
    assert out.returncode == EXIT_OK
    assert json.loads(out.stdout) == api(shop, "/api/users/3/orders")
    out = run_cli(cli_path, "orders", "list", "--user", "3", url=shop.backend.url)
    rows = table_rows(out.stdout)
    assert rows[0] == ["ID", "USER", "STATUS", "TOTAL", "ITEMS", "CREATED"]
    assert str(order["id"]) in [r[0] for r in rows[1:]]


def test_orders_create_table_format(cli_path, shop):
    out = run_cli(cli_path, "orders", "create", "--user", "4", "--product", "6", "--quantity", "1",
                  url=shop.backend.url)
    assert out.returncode == EXIT_OK, out.stderr
    assert record(out.stdout)["USER"] == "4"


def test_orders_idempotency_key_replays_the_first_order(cli_path, shop):
    key = f"cli-{uuid.uuid4()}"
    args = ["--output", "json", "orders", "create", "--user", "2", "--product", "7", "--quantity", "1",
            "--idempotency-key", key]
    first = run_cli(cli_path, *args, url=shop.backend.url)
    second = run_cli(cli_path, *args, url=shop.backend.url)
    assert first.returncode == second.returncode == EXIT_OK, (first.stderr, second.stderr)
    assert json.loads(first.stdout)["id"] == json.loads(second.stdout)["id"]


def test_orders_out_of_stock_is_409_exit_1(cli_path, shop):
    shop.db.sql("UPDATE products SET stock = 0 WHERE id = 11")
    out = run_cli(cli_path, "orders", "create", "--user", "1", "--product", "11", "--quantity", "1",
                  url=shop.backend.url)
    assert out.returncode == EXIT_FAILED
    assert re.fullmatch(rf"oteldemo orders create: HTTP 409: .+ \(trace_id {TRACE_ID_RE}\)", one_line(out.stderr))


def test_orders_unknown_product_is_404(cli_path, shop):
    out = run_cli(cli_path, "orders", "create", "--user", "1", "--product", "99999999", "--quantity", "1",
                  url=shop.backend.url)
    assert out.returncode == EXIT_FAILED
    assert "orders create: HTTP 404: " in one_line(out.stderr)


def test_faults_set_and_get_with_the_token(cli_path, shop):
    out = run_cli(cli_path, "--token", ADMIN_TOKEN, "--output", "json", "faults", "set", "payment_latency_ms=7",
                  "payment_failure_rate=0", url=shop.backend.url)
    assert out.returncode == EXIT_OK, out.stderr
    assert json.loads(out.stdout)["payment_latency_ms"] == 7
    out = run_cli(cli_path, "--output", "json", "faults", "get", url=shop.backend.url,
                  env={"OTELDEMO_TOKEN": ADMIN_TOKEN})
    assert out.returncode == EXIT_OK, out.stderr
    faults = json.loads(out.stdout)
    assert faults["payment_latency_ms"] == 7
    out = run_cli(cli_path, "faults", "get", url=shop.backend.url, env={"OTELDEMO_TOKEN": ADMIN_TOKEN})
    rows = table_rows(out.stdout)
    assert rows[0] == ["FAULT", "VALUE"]
    assert ["payment_latency_ms", "7"] in rows
    out = run_cli(cli_path, "--token", ADMIN_TOKEN, "faults", "set", "payment_latency_ms=0", url=shop.backend.url)
    assert out.returncode == EXIT_OK, out.stderr


def test_faults_with_a_token_file_go_to_the_admin_url(cli_path, shop, tmp_path):
    token = tmp_path / "admin-token"
    token.write_text(ADMIN_TOKEN + "\n")
    token.chmod(0o600)
    # No --url: OTELDEMO_ADMIN_URL names the backend, the token comes from OTELDEMO_TOKEN_FILE.
    out = run_cli(cli_path, "--output", "json", "faults", "get",
                  env={"OTELDEMO_ADMIN_URL": shop.backend.url, "OTELDEMO_TOKEN_FILE": token})
    assert out.returncode == EXIT_OK, out.stderr
    assert "payment_failure_rate" in json.loads(out.stdout)
    out = run_cli(cli_path, "--token-file", token, "--admin-url", shop.backend.url, "faults", "get")
    assert out.returncode == EXIT_OK, out.stderr


def test_a_token_file_others_may_read_is_refused(cli_path, tmp_path):
    token = tmp_path / "admin-token"
    token.write_text(ADMIN_TOKEN + "\n")
    token.chmod(0o644)
    out = run_cli(cli_path, "--token-file", token, "faults", "get")
    assert out.returncode == EXIT_USAGE
    assert one_line(out.stderr) == f"oteldemo: token file {token} may be read by others (chmod 600 it)"


def test_faults_set_with_a_wrong_token_is_403_exit_1(cli_path, shop):
    out = run_cli(cli_path, "--token", "not-the-token-at-all", "faults", "set", "payment_latency_ms=1",
                  url=shop.backend.url)
    assert out.returncode == EXIT_FAILED
    assert re.fullmatch(rf"oteldemo faults set: HTTP 403: .+ \(trace_id {TRACE_ID_RE}\)", one_line(out.stderr))


def test_faults_get_without_a_token_is_401_exit_1(cli_path, shop):
    out = run_cli(cli_path, "faults", "get", url=shop.backend.url)
    assert out.returncode == EXIT_FAILED
    assert "oteldemo faults get: HTTP 401" in one_line(out.stderr)


@pytest.mark.parametrize("which", ["backend", "frontend"])
def test_health_is_ready_both_formats(cli_path, shop, which):
    url = getattr(shop, which).url
    out = run_cli(cli_path, "health", url=url)
    assert out.returncode == EXIT_OK, out.stderr
    rows = table_rows(out.stdout)
    assert rows[0] == ["CHECK", "STATUS", "DETAIL"]
    assert [r[:2] for r in rows[1:]] == [["healthz", "200"], ["readyz", "200"]]
    out = run_cli(cli_path, "--output", "json", "health", url=url)
    assert out.returncode == EXIT_OK
    health = json.loads(out.stdout)
    assert health["ready"] is True and health["healthz"]["status"] == 200 and health["readyz"]["status"] == 200


def test_health_of_nothing_exits_69(cli_path):
    out = run_cli(cli_path, "--output", "json", "health", url=f"http://127.0.0.1:{free_port()}")
    assert out.returncode == EXIT_CONNECT
    assert json.loads(out.stdout)["ready"] is False


# ---- TLS: --cacert, --cert, --key against a backend with mutual TLS -------------------------------

@pytest.fixture(scope="module")
def mtls_backend(build_dir, pg_cluster, pki, receiver):  # noqa: F811
    """https:// URL of a backend serving the test CA's certificate and asking for a client certificate
    of that CA."""
    wd = workdir()
    backend = Backend(build_dir, pg_cluster.create_database(), wd, receiver,
                      config=tls_server_config(*pki.server, client_ca=pki.ca.ca))
    try:
        backend.migrate()
        backend.start()
        yield f"https://127.0.0.1:{backend.port}"
    finally:
        backend.close()
        shutil.rmtree(wd, ignore_errors=True)


def test_cacert_and_client_certificate_reach_a_mutual_tls_backend(cli_path, mtls_backend, pki):  # noqa: F811
    out = run_cli(cli_path, "--output", "json", "products", "get", "1", "--cacert", pki.ca.ca,
                  "--cert", pki.client[0], "--key", pki.client[1], url=mtls_backend)
    assert out.returncode == EXIT_OK, out.stderr
    assert json.loads(out.stdout)["id"] == 1 and out.stderr == ""


def test_tls_files_come_from_the_environment(cli_path, mtls_backend, pki):  # noqa: F811
    out = run_cli(cli_path, "--output", "json", "health", env={
        "OTELDEMO_URL": mtls_backend, "OTELDEMO_CA_FILE": pki.ca.ca, "OTELDEMO_CERT_FILE": pki.client[0],
        "OTELDEMO_KEY_FILE": pki.client[1]})
    assert out.returncode == EXIT_OK, out.stderr
    reply = json.loads(out.stdout)
    assert reply["ready"] is True and reply["url"] == mtls_backend, reply


@pytest.mark.parametrize("ca, client, says", [
    (None, "CLIENT", "certificate"),       # the system's CAs do not know the test CA
    ("OTHER_CA", "CLIENT", "certificate"),
    ("CA", None, ""),                     # the server asks for a client certificate and gets none
    ("CA", "STRANGER", ""),               # one from a CA the server does not trust
], ids=["system-cas", "wrong-ca", "no-client-certificate", "client-certificate-of-another-ca"])
def test_tls_failures_exit_69_with_one_line(cli_path, mtls_backend, pki, ca, client, says):  # noqa: F811
    files = {"CA": pki.ca.ca, "OTHER_CA": pki.other.ca, "CLIENT": pki.client, "STRANGER": pki.stranger}
    args = (["--cacert", files[ca]] if ca else []) + (["--cert", files[client][0], "--key", files[client][1]]
                                                       if client else [])
    out = run_cli(cli_path, *args, "products", "get", "1", url=mtls_backend)
    assert out.returncode == EXIT_CONNECT, (out.returncode, out.stdout, out.stderr)
    line = one_line(out.stderr)
    assert line.startswith(f"oteldemo products get: cannot reach {mtls_backend}: "), line
    assert says in line.lower(), line
    assert out.stdout == ""


def private_copy(src, dst, mode):
    shutil.copy(src, dst)
    os.chmod(dst, mode)
    return dst


@pytest.mark.parametrize("case", ["missing-ca", "key-as-ca", "directory-as-ca", "cert-without-key",
                                  "key-without-cert", "shared-key", "cert-as-key"])
def test_tls_file_errors_exit_2_with_one_line_before_any_request(cli_path, pki, tmp_path, case):  # noqa: F811
    cert, key = str(pki.client[0]), str(pki.client[1])
    shared = str(private_copy(key, tmp_path / "shared.key", 0o640))
    cert_0600 = str(private_copy(cert, tmp_path / "cert.pem", 0o600))
    args, env, message = {
        "missing-ca": (["--cacert", "/nonexistent/ca.pem"], {},
                       "oteldemo: cannot read --cacert /nonexistent/ca.pem: No such file or directory"),
        "key-as-ca": (["--cacert", key], {}, f"oteldemo: --cacert {key} is not a PEM file with a certificate"),
        "directory-as-ca": ([], {"OTELDEMO_CA_FILE": str(tmp_path)},
                            f"oteldemo: $OTELDEMO_CA_FILE {tmp_path} is not a PEM file with a certificate"),
        "cert-without-key": (["--cert", cert], {},
                             "oteldemo: --cert needs --key (or $OTELDEMO_KEY_FILE) too: a client certificate "
                             "goes with its key"),
        "key-without-cert": ([], {"OTELDEMO_KEY_FILE": key},
                             "oteldemo: $OTELDEMO_KEY_FILE needs --cert (or $OTELDEMO_CERT_FILE) too: a client "
                             "certificate goes with its key"),
        "shared-key": (["--cert", cert, "--key", shared], {},
                       f"oteldemo: --key {shared} may be read by others (chmod 600 it)"),
        "cert-as-key": (["--cert", cert, "--key", cert_0600], {},
                        f"oteldemo: --key {cert_0600} is not a PEM file with a private key"),
    }[case]
    # A closed port: the files are checked before any request is made.
    out = run_cli(cli_path, "health", *args, url=f"https://127.0.0.1:{free_port()}", env=env)
    assert out.returncode == EXIT_USAGE, (out.returncode, out.stderr)
    assert one_line(out.stderr) == message
    assert out.stdout == ""


def request_counts(port):
    """http.server.request.duration counts from the backend's /metrics: {(method, route, status): n}."""
    status, _, body = request(port, "GET", "/metrics")
    assert status == 200
    counts = {}
    for line in body.decode().splitlines():
        if not line.startswith("http_server_request_duration_seconds_count{"):
            continue
        labels_text, _, value = line[len("http_server_request_duration_seconds_count{"):].rpartition("} ")
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels_text))
        key = (labels.get("http_request_method"), labels.get("http_route"), labels.get("http_response_status_code"))
        counts[key] = counts.get(key, 0) + float(value.split()[0])
    return counts


def test_load_200_per_second_for_10s_achieves_the_rate_and_matches_backend_metrics(cli_path, shop):
    before = request_counts(shop.backend.port)
    out = run_cli(cli_path, "--output", "json", "load", "--rate", "200", "--duration", "10", "--concurrency", "16",
                  "--seed", "42", url=shop.backend.url, timeout=60)
    assert out.returncode == EXIT_OK, out.stderr
    summary = json.loads(out.stdout)
    assert summary["requests"] == 2000
    assert summary["achieved_rate"] <= 200 * 1.05, summary  # never faster than asked
    # On schedule, or (a loaded machine: the server falls behind) the run's overrun is latency the
    # generator measured from each request's intended start (open loop): a generator that sent late
    # without counting it, or paced wrongly, overruns by more than its slowest request. The slack:
    # the main thread notices the end within its 50 ms naps, a starved one later.
    overrun_s = summary["elapsed_s"] - summary["duration_s"]
    assert (abs(summary["achieved_rate"] - 200) / 200 <= 0.05
            or overrun_s <= summary["latency_ms"]["max"] / 1000 + 0.5), summary
    assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["p99"] <= summary["latency_ms"]["max"]
    ours = {}
    for ep in summary["endpoints"]:
        for status, n in ep["statuses"].items():
            ours[(ep["method"], ep["route"], status)] = n
    assert "no_reply" not in {k[2] for k in ours}, ours
    # The server records a request when its reply has been sent: give the last ones a moment.
    deadline = time.monotonic() + 5
    while True:
        after = request_counts(shop.backend.port)
        theirs = {k: after[k] - before.get(k, 0) for k in after
                  if k[1] and k[1].startswith("/api/") and after[k] != before.get(k, 0)}
        if theirs == ours or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert theirs == ours


def test_trace_continuity_cli_to_frontend_to_backend(cli_path, shop, receiver):
    out = run_cli(cli_path, "--verbose", "products", "get", "3", url=shop.frontend.url, receiver=receiver)
    assert out.returncode == EXIT_OK, out.stderr
    trace_id = re.search(rf"^trace_id ({TRACE_ID_RE})$", out.stderr, re.M).group(1)

    def complete_trace(spans):
        services = {(s["service"], s["kind"]) for s in spans}
        return {("oteldemo-cli", SPAN_KIND_CLIENT), ("oteldemo-frontend", SPAN_KIND_SERVER),
                ("oteldemo-backend", SPAN_KIND_SERVER)} <= services

    spans = wait_for_spans(receiver, trace_id, complete_trace)
    by_id = {s["span_id"]: s for s in spans}
    (cli_span,) = [s for s in spans if s["service"] == "oteldemo-cli"]
    assert cli_span["kind"] == SPAN_KIND_CLIENT and cli_span["parent"] == ""
    (fe_server,) = [s for s in spans if s["service"] == "oteldemo-frontend" and s["kind"] == SPAN_KIND_SERVER]
    assert fe_server["parent"] == cli_span["span_id"]
    (be_server,) = [s for s in spans if s["service"] == "oteldemo-backend" and s["kind"] == SPAN_KIND_SERVER]
    # backend SERVER ← frontend CLIENT ← … ← frontend SERVER ← CLI CLIENT
    hop = by_id[be_server["parent"]]
    assert hop["service"] == "oteldemo-frontend" and hop["kind"] == SPAN_KIND_CLIENT
    while hop["span_id"] != fe_server["span_id"]:
        hop = by_id[hop["parent"]]
        assert hop["service"] == "oteldemo-frontend"


def test_cli_client_span_is_parent_of_backend_server_span(cli_path, shop, receiver):
    out = run_cli(cli_path, "--verbose", "users", "get", "1", url=shop.backend.url, receiver=receiver)
    assert out.returncode == EXIT_OK, out.stderr
    trace_id = re.search(rf"^trace_id ({TRACE_ID_RE})$", out.stderr, re.M).group(1)
    spans = wait_for_spans(receiver, trace_id, lambda s: {x["service"] for x in s} >= {"oteldemo-cli",
                                                                                       "oteldemo-backend"})
    (cli_span,) = [s for s in spans if s["service"] == "oteldemo-cli"]
    (be_server,) = [s for s in spans if s["service"] == "oteldemo-backend" and s["kind"] == SPAN_KIND_SERVER]
    assert be_server["parent"] == cli_span["span_id"]
    assert be_server["attrs"].get("http.route") == "/api/users/{id}"
    assert cli_span["attrs"]["http.response.status_code"] == 200


def api_request_counts(port):
    """The backend's http.server.request.duration counts of /api/ routes (see request_counts)."""
    return {k: n for k, n in request_counts(port).items() if k[1] and k[1].startswith("/api/")}


def backend_recorded(port, before, expected):
    """The /api/ requests the backend recorded since before, once they add up to expected (it records
    a request when its reply has been sent: the last ones get a moment)."""
    deadline = time.monotonic() + 5
    while True:
        after = api_request_counts(port)
        theirs = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        if sum(theirs.values()) >= expected or time.monotonic() > deadline:
            return theirs
        time.sleep(0.2)


def test_load_record_has_one_line_per_request_and_the_order_ids(cli_path, shop, tmp_path):
    path = tmp_path / "record.jsonl"
    before = api_request_counts(shop.backend.port)
    out = run_cli(cli_path, "--output", "json", "load", "--rate", "50", "--duration", "1", "--mix", "order=100",
                  "--seed", "4", "--record", path, url=shop.frontend.url, timeout=60)
    assert out.returncode == EXIT_OK, out.stderr
    summary = json.loads(out.stdout)
    lines = read_record(path)
    assert len(lines) == summary["requests"] == 50
    theirs = backend_recorded(shop.backend.port, before, 50)
    assert sum(theirs.values()) == 50, theirs  # each recorded request reached the backend, once
    assert {line["route"] for line in lines} <= {"/api/users", "/api/products", "/api/products/{id}",
                                                   "/api/orders", "/api/users/{id}/orders"}
    orders = [line for line in lines if line["route"] == "/api/orders"]
    assert orders and all(o["attempt"] == 1 for o in orders)
    assert theirs.get(("POST", "/api/orders", "201"), 0) == sum(o["status"] == 201 for o in orders) > 0, theirs
    for o in orders:
        if o["status"] != 201:
            assert o["order_id"] is None, o
            continue
        # The recorded id is the order the backend made of the recorded body.
        got = api(shop, f"/api/orders/{o['order_id']}")
        body = json.loads(o["body"])
        assert got["id"] == o["order_id"] and got["user_id"] == body["user_id"], (o, got)
    assert all(0 <= line["start_ms"] < 1000 and line["latency_ms"] >= 0 for line in lines)
    assert all("idempotency_key" not in line for line in lines if line["route"] != "/api/orders")


def test_load_retries_a_failed_order_with_the_same_key_and_body(cli_path, shop, tmp_path):
    # The backend's own failure: payment_unreachable fails every order with 502 (a 5xx, retried) and
    # compensates it, so the retry with the same key is a new attempt, not a replay.
    path = tmp_path / "record.jsonl"
    fault = run_cli(cli_path, "--token", ADMIN_TOKEN, "faults", "set", "payment_unreachable=true",
                    url=shop.backend.url)
    assert fault.returncode == EXIT_OK, fault.stderr
    try:
        before = api_request_counts(shop.backend.port)
        out = run_cli(cli_path, "--output", "json", "load", "--rate", "40", "--duration", "2", "--mix", "order=100",
                      "--concurrency", "1", "--seed", "6", "--retries", "2", "--record", path,
                      url=shop.frontend.url, timeout=60)
        lines = read_record(path)
        theirs = backend_recorded(shop.backend.port, before, len(lines))
    finally:
        fault = run_cli(cli_path, "--token", ADMIN_TOKEN, "faults", "set", "payment_unreachable=false",
                        url=shop.backend.url)
        assert fault.returncode == EXIT_OK, fault.stderr
    assert out.returncode == EXIT_OK, out.stderr
    orders = [line for line in lines if line["route"] == "/api/orders"]
    attempts = {}
    for o in orders:
        assert o["status"] == 502 and o["order_id"] is None, o
        attempts.setdefault(o["idempotency_key"], []).append((o["attempt"], o["body"]))
    assert len(attempts) >= 2, orders
    # One worker: each key's attempts are 1, 2, 3 with one body (the last key may be cut by the end).
    for key, tries in list(attempts.items())[:-1]:
        assert [a for a, _ in tries] == [1, 2, 3], (key, tries)
        assert len({b for _, b in tries}) == 1, (key, tries)
    # Each recorded attempt reached the backend once.
    assert theirs.get(("POST", "/api/orders", "502"), 0) == len(orders), theirs
    assert sum(theirs.values()) == len(lines), theirs
