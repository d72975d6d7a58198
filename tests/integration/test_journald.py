# Real journald: tests/programs/otel-log-demo logs through the public API while its stderr is connected
# to a systemd-journald that this test starts in a private mount namespace (`unshare -m`, private
# propagation, tmpfs on /run/systemd and /run/log, volatile storage), and the entries are read back with
# `journalctl -o json TRACE_ID=…` in the same namespace. The host's /run is never touched: the mounts
# vanish with the namespace.
#
# The namespace part runs as `python3 test_journald.py inside PROGRAM FRONTEND WWW`, which prints one JSON
# document (the demo's own description of what it logged, and the journal entries) for the pytest side
# to check. FRONTEND is oteldemo-frontend, run the same way to check its access log (issue 11): one
# line per request with the request's TRACE_ID, and the rejections also when the access log is off.
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

JOURNALD = "/lib/systemd/systemd-journald"
RUNTIME_DIRS = ["/run/systemd", "/run/log"]
JOURNAL_DIR = "/run/log/journal"
STDOUT_SOCKET = "/run/systemd/journal/stdout"
NATIVE_SOCKET = "/run/systemd/journal/socket"
STREAM_IDENTIFIER = "otel-log-demo-stream"
STREAM_SENTINEL = "sentinel on the demo's stderr stream"
NATIVE_SENTINEL = "sentinel on the native socket"
JOURNALD_CONF = "[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToSyslog=no\nForwardToWall=no\n"
START_TIMEOUT_S = 10
READ_TIMEOUT_S = 10
POLL_S = 0.05
PROGRAM_TIMEOUT_S = 30
HTTP_TIMEOUT_S = 10
ACCESS_MAX_BODY = 1024  # the frontend's max_body_bytes in the access-log runs: a bigger body is a 413
NAMESPACE_TIMEOUT_S = 90

# syslog priorities the SDK maps the demo's severities to.
PRIORITY_WARNING = "4"
PRIORITY_ERR = "3"
PRIORITY_INFO = "6"
ENOENT = 2


# ---- inside the namespace ------------------------------------------------------------------------


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(POLL_S)


def journal_stream():
    """A stream to journald's stdout socket, as systemd gives services (the protocol of systemd-cat)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(STDOUT_SOCKET)
    # identifier, unit id, priority, level prefix, forward to syslog, kmsg, console
    sock.sendall(f"{STREAM_IDENTIFIER}\n\n6\n0\n0\n0\n0\n".encode())
    sock.shutdown(socket.SHUT_RD)
    return sock


def journal_entries(*matches):
    out = subprocess.run(["journalctl", "--directory", JOURNAL_DIR, "-o", "json", "--no-pager", *matches],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def run_demo(program, stderr, journal_stream_value):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k != "JOURNAL_STREAM"}
    env.update(OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none")
    if journal_stream_value:
        env["JOURNAL_STREAM"] = journal_stream_value
    proc = subprocess.run([program], env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
                          timeout=PROGRAM_TIMEOUT_S)
    if proc.returncode != 0:
        raise SystemExit(f"{program} exited with {proc.returncode}: {proc.stderr}")
    return json.loads(proc.stdout.splitlines()[0]), proc.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(port, method, path, trace_id, body=None, user_agent="test_journald"):
    """One request with a traceparent naming trace_id: (status, body bytes, traceresponse header)."""
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01", "User-Agent": user_agent}
    if body is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
            return resp.status, resp.read(), resp.headers.get("traceresponse")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("traceresponse")


def run_frontend(frontend, www, access_log, stderr_fd, journal_stream_value):
    """oteldemo-frontend with its stderr on the journal, a backend URL where nothing listens, a small
    body limit; sends the requests of one run and returns {name: (trace_id, status, bytes, traceresponse)}."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "frontend.conf"
        conf.write_text(f"[server]\nlisten = 127.0.0.1:{port}\nwww_dir = {www}\n"
                        f"max_body_bytes = {ACCESS_MAX_BODY}\naccess_log = {access_log}\n"
                        f"[backend]\nurl = http://127.0.0.1:{free_port()}\nconnect_timeout_ms = 500\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k != "NOTIFY_SOCKET"}
        env.update(OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
                   JOURNAL_STREAM=journal_stream_value)
        proc = subprocess.Popen([frontend, "--config", str(conf)], env=env, stdout=subprocess.DEVNULL,
                                stderr=stderr_fd)
        try:
            def up():
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        return True
                except OSError:
                    if proc.poll() is not None:
                        raise SystemExit(f"{frontend} exited with {proc.returncode}")
                    return False
            wait_for(up, START_TIMEOUT_S, "the frontend")
            sent = {}
            for name, method, path, body, agent in (
                    ("ok", "GET", "/healthz", None, "test_journald"),
                    ("bad_gateway", "GET", "/api/products", None, "test_journald"),
                    ("too_large", "POST", "/api/orders", b"x" * (2 * ACCESS_MAX_BODY), "test_journald"),
                    ("not_found", "GET", "/no-such-page.html", None, "test_journald"),
                    # What the watchdog's own probe sends (http-probe.c): not worth a line.
                    ("probe", "GET", "/healthz", None, "oteldemo-watchdog")):
                trace_id = secrets.token_hex(16)
                status, data, traceresponse = http(port, method, path, trace_id, body, agent)
                sent[name] = [trace_id, status, len(data), traceresponse]
        finally:
            proc.terminate()
            proc.wait(timeout=PROGRAM_TIMEOUT_S)
    return sent


def access_log_runs(frontend, www):
    """Both runs (access_log on, off) and the journal entries of every request's trace."""
    out = {}
    for access_log in ("true", "false"):
        sock = journal_stream()
        st = os.fstat(sock.fileno())
        sent = run_frontend(frontend, www, access_log, sock.fileno(), f"{st.st_dev}:{st.st_ino}")
        sock.close()
        out[access_log] = {"sent": sent}
    # The rejections are logged in both runs: wait for the last one, then read every trace.
    last = out["false"]["sent"]["too_large"][0]
    wait_for(lambda: journal_entries(f"TRACE_ID={last}"), READ_TIMEOUT_S, "the access log")
    time.sleep(0.5)  # entries that should not exist get the same time to (not) arrive
    for run in out.values():
        run["entries"] = {name: journal_entries(f"TRACE_ID={v[0]}") for name, v in run["sent"].items()}
    return out


def inside(program, frontend, www):
    for d in RUNTIME_DIRS:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", d], check=True)
    os.makedirs("/run/systemd/journal", exist_ok=True)
    os.makedirs("/run/systemd/journald.conf.d", exist_ok=True)
    Path("/run/systemd/journald.conf.d/test.conf").write_text(JOURNALD_CONF)
    journald = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: os.path.exists(NATIVE_SOCKET) and os.path.exists(STDOUT_SOCKET), START_TIMEOUT_S,
                 "journald's sockets")

        # 1. stderr is the journal: JOURNAL_STREAM names the stream, as systemd sets it for a service.
        sock = journal_stream()
        st = os.fstat(sock.fileno())
        demo, _ = run_demo(program, sock.fileno(), f"{st.st_dev}:{st.st_ino}")
        # Positive control: journald reads a stream in order, so once a line written after the demo
        # exited is in the journal, anything the demo wrote to that stream is too.
        sock.sendall(f"{STREAM_SENTINEL}\n".encode())
        sock.close()
        wait_for(lambda: journal_entries(f"SYSLOG_IDENTIFIER={STREAM_IDENTIFIER}", f"MESSAGE={STREAM_SENTINEL}"),
                 READ_TIMEOUT_S, "the stream sentinel")
        trace_id = demo["trace_id"]
        wait_for(lambda: len(journal_entries(f"TRACE_ID={trace_id}")) >= 2, READ_TIMEOUT_S, "the entries")
        wait_for(lambda: journal_entries("SYSLOG_IDENTIFIER=otel-log-demo", "MESSAGE=no span here\nsecond line"),
                 READ_TIMEOUT_S, "the entry without a span")
        by_trace = journal_entries(f"TRACE_ID={trace_id}")
        plain = journal_entries("SYSLOG_IDENTIFIER=otel-log-demo", "MESSAGE=no span here\nsecond line")
        stream = journal_entries(f"SYSLOG_IDENTIFIER={STREAM_IDENTIFIER}")

        # 2. JOURNAL_STREAM inherited but stderr is something else (a pipe): the readable line instead.
        other, other_stderr = run_demo(program, subprocess.PIPE, f"{st.st_dev}:{st.st_ino}")
        # Positive control instead of a sleep: a native entry sent after the demo exited, on the socket
        # the demo would have used; once it is in the journal, the demo's entries would be too.
        native = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        native.sendto(f"MESSAGE={NATIVE_SENTINEL}\nSYSLOG_IDENTIFIER=sentinel\n".encode(), NATIVE_SOCKET)
        native.close()
        wait_for(lambda: journal_entries("SYSLOG_IDENTIFIER=sentinel"), READ_TIMEOUT_S, "the native sentinel")
        other_entries = journal_entries(f"TRACE_ID={other['trace_id']}")

        access = access_log_runs(frontend, www)

        json.dump({"demo": demo, "by_trace": by_trace, "plain": plain, "stream": stream, "other": other,
                   "other_stderr": other_stderr, "other_entries": other_entries, "access": access},
                  sys.stdout)
    finally:
        journald.terminate()
        journald.wait(timeout=10)


# ---- pytest side ----------------------------------------------------------------------------------

import pytest  # noqa: E402  (not needed inside the namespace)


def namespace_unavailable():
    if os.geteuid() != 0:
        return "needs root for a private mount namespace and tmpfs mounts"
    for tool in (JOURNALD, shutil.which("unshare"), shutil.which("journalctl")):
        if not tool or not os.path.exists(tool):
            return f"missing {tool or 'unshare/journalctl'}"
    return None


@pytest.fixture(scope="module")
def journal(build_dir):
    reason = namespace_unavailable()
    if reason:
        pytest.skip(reason)
    program = build_dir / "tests/programs/otel-log-demo"
    frontend = build_dir / "src/frontend/oteldemo-frontend"
    www = Path(__file__).resolve().parent.parent.parent / "www"
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, __file__, "inside",
                           str(program), str(frontend), str(www)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=NAMESPACE_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def fields_of(entry, demo, line):
    """The fields the SDK sets on every entry of the demo's span."""
    return {
        "SYSLOG_IDENTIFIER": "otel-log-demo",
        "SERVICE_NAME": "otel-log-demo",
        "CODE_FILE": demo["file"],
        "CODE_LINE": str(line),
        "CODE_FUNC": demo["func"],
        "TRACE_ID": demo["trace_id"],
        "SPAN_ID": demo["span_id"],
        "_TRANSPORT": "journal",
    }


def test_journal_has_exactly_the_two_entries_of_the_span_above_the_level(journal):
    messages = sorted(e["MESSAGE"] for e in journal["by_trace"])
    assert messages == ["Cannot open /etc/oteldemo/missing.conf: No such file or directory",
                        "order A-42 failed: payment declined"]


def test_warning_entry_carries_every_field_and_the_attributes(journal):
    demo = journal["demo"]
    (e,) = [e for e in journal["by_trace"] if e["MESSAGE"].startswith("order")]
    expected = fields_of(e, demo, demo["line_warn"])
    expected.update({
        "MESSAGE": "order A-42 failed: payment declined",
        "PRIORITY": PRIORITY_WARNING,
        "ORDER_ID": "A-42",
        "ORDER_ITEMS": "3",
        "ORDER_TOTAL": "12.5",
        "ORDER_RETRY": "true",
        "ORDER_TAGS": "blue,green",
        "NOTE": "two words",
    })
    assert {k: e.get(k) for k in expected} == expected
    assert "ERRNO" not in e


def test_errno_entry_has_errno_and_err_priority(journal):
    demo = journal["demo"]
    (e,) = [e for e in journal["by_trace"] if e["MESSAGE"].startswith("Cannot open")]
    expected = fields_of(e, demo, demo["line_err"])
    expected.update({"PRIORITY": PRIORITY_ERR, "ERRNO": str(ENOENT)})
    assert {k: e.get(k) for k in expected} == expected
    assert demo["errno_ret"] == -ENOENT


def test_entry_without_current_span_has_no_trace_fields(journal):
    demo = journal["demo"]
    (e,) = journal["plain"]
    assert e["MESSAGE"] == "no span here\nsecond line"
    assert e["PRIORITY"] == PRIORITY_INFO
    assert e["CODE_LINE"] == str(demo["line_plain"])
    assert e["SERVICE_NAME"] == "otel-log-demo"
    assert "TRACE_ID" not in e and "SPAN_ID" not in e


def test_nothing_is_written_to_the_stderr_stream_when_it_is_the_journal(journal):
    # Only the sentinel the test wrote on the same stream after the demo exited.
    assert [e["MESSAGE"] for e in journal["stream"]] == [STREAM_SENTINEL]


def test_inherited_journal_stream_that_is_not_stderr_falls_back_to_the_stderr_line(journal):
    other = journal["other"]
    assert journal["other_entries"] == []
    lines = journal["other_stderr"].splitlines()
    assert len(lines) == 3, lines
    warn = lines[0].split(" ", 2)
    assert warn[1:] == ["WARN", "[otel-log-demo] order A-42 failed: payment declined order.id=A-42 order.items=3 "
                        "order.total=12.5 order.retry=true order.tags=blue,green note=\"two words\" "
                        f"trace_id={other['trace_id']} span_id={other['span_id']}"]
    assert lines[2].endswith(" INFO [otel-log-demo] no span here\\nsecond line")


# ---- the access log (issue 11) ---------------------------------------------------------------------

ACCESS_MESSAGE_RE = r"{method} {target} {status} \d+\.\d ms {size} B 127\.0\.0\.1"


def access_fields(sent, method, route, path, priority):
    """The fields of the access-log entry of one request sent by run_frontend()."""
    trace_id, status, size, traceresponse = sent
    fields = {
        "SYSLOG_IDENTIFIER": "oteldemo-frontend",
        "SERVICE_NAME": "oteldemo-frontend",
        "PRIORITY": priority,
        "TRACE_ID": trace_id,
        "SPAN_ID": traceresponse.split("-")[2],  # the server span the reply names
        "HTTP_REQUEST_METHOD": method,
        "HTTP_ROUTE": route,
        "URL_PATH": path,
        "HTTP_RESPONSE_STATUS_CODE": str(status),
        "HTTP_RESPONSE_BODY_SIZE": str(size),
        "CLIENT_ADDRESS": "127.0.0.1",
        "_TRANSPORT": "journal",
    }
    return fields


def check_access_entry(entries, sent, method, route, path, priority):
    import re

    (e,) = entries
    expected = access_fields(sent, method, route, path, priority)
    assert {k: e.get(k) for k in expected} == expected
    assert re.fullmatch(ACCESS_MESSAGE_RE.format(method=method, target=re.escape(route), status=sent[1],
                                                 size=sent[2]), e["MESSAGE"]), e["MESSAGE"]
    assert 0 < float(e["HTTP_SERVER_REQUEST_DURATION"]) < HTTP_TIMEOUT_S


def test_access_log_has_one_info_line_per_request_with_its_trace_id(journal):
    run = journal["access"]["true"]
    assert run["sent"]["ok"][1] == 200
    check_access_entry(run["entries"]["ok"], run["sent"]["ok"], "GET", "/healthz", "/healthz", PRIORITY_INFO)
    assert run["sent"]["not_found"][1] == 404
    check_access_entry(run["entries"]["not_found"], run["sent"]["not_found"], "GET", "/*", "/no-such-page.html",
                       PRIORITY_INFO)


def test_access_log_rejections_are_warnings(journal):
    run = journal["access"]["true"]
    assert run["sent"]["bad_gateway"][1] == 502
    check_access_entry(run["entries"]["bad_gateway"], run["sent"]["bad_gateway"], "GET", "/api/products",
                       "/api/products", PRIORITY_WARNING)
    assert run["sent"]["too_large"][1] == 413
    check_access_entry(run["entries"]["too_large"], run["sent"]["too_large"], "POST", "/api/orders", "/api/orders",
                       PRIORITY_WARNING)


def test_access_log_leaves_out_the_watchdogs_own_probe(journal):
    run = journal["access"]["true"]
    assert run["sent"]["probe"][1] == 200
    assert run["entries"]["probe"] == []


def test_access_log_off_keeps_only_the_rejections(journal):
    run = journal["access"]["false"]
    assert run["entries"]["ok"] == [] and run["entries"]["not_found"] == []
    check_access_entry(run["entries"]["bad_gateway"], run["sent"]["bad_gateway"], "GET", "/api/products",
                       "/api/products", PRIORITY_WARNING)
    check_access_entry(run["entries"]["too_large"], run["sent"]["too_large"], "POST", "/api/orders", "/api/orders",
                       PRIORITY_WARNING)


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "inside":
    inside(sys.argv[2], sys.argv[3], sys.argv[4])
