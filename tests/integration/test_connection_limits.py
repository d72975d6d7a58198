# The connection limits of the shared HTTP server (src/common/http-accept.c), each hit on purpose
# against a real oteldemo-frontend (no backend needed: /healthz, /metrics and the static files are
# its own): per client address → 429, total → the health reserve, then 503, the request head and
# body deadlines → 408 even while bytes trickle in, the idle keep-alive timeout, the even spread of
# connections over the workers, and the validation of each key. Clients come from different loopback
# addresses (all of 127/8 is loopback), so that the per-address limit is testable.
import contextlib
import json
import re
import select
import shutil
import socket
import subprocess
import time

import pytest

from shop_stack import WWW_DIR, Daemon, Frontend, request, workdir, write_config

NO_BACKEND = "http://127.0.0.1:9"  # nothing listens there; these tests never proxy
ATTACKER = "127.0.0.2"
BYSTANDER = "127.0.0.3"
MARGIN_S = 2.0  # deadlines are checked every 100 ms; the rest is for a loaded machine
EARLY_S = 0.1  # the server's clock starts at accept, which may come before the client's t0
REPLY_TIMEOUT_S = 10


@contextlib.contextmanager
def frontend(build_dir, **server):
    """oteldemo-frontend with the [server] keys given on top of the test defaults (None: key left out)."""
    wd = workdir()
    fe = Frontend(build_dir, NO_BACKEND, wd)
    keys = {k: v for k, v in dict({"listen": f"127.0.0.1:{fe.port}", "www_dir": WWW_DIR, "threads": 4},
                                  **server).items() if v is not None}
    write_config(fe.config, {"server": keys, "backend": {"url": NO_BACKEND}})
    try:
        yield fe.start()
    finally:
        fe.close()
        shutil.rmtree(wd, ignore_errors=True)


def connect(port, source):
    return socket.create_connection(("127.0.0.1", port), timeout=REPLY_TIMEOUT_S, source_address=(source, 0))


def read_reply(s):
    """Everything the server sends until it closes (or REPLY_TIMEOUT_S); (status, headers, body)."""
    data = b""
    s.settimeout(REPLY_TIMEOUT_S)
    while b"\r\n\r\n" not in data or len(data) < head_len(data) + content_length(data):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def head_len(data):
    return data.index(b"\r\n\r\n") + 4


def content_length(data):
    m = re.search(rb"(?i)content-length: *(\d+)", data)
    return int(m.group(1)) if m else 0


def get(s, path):
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return read_reply(s)


def assert_json_error(status, headers, body, expected, message):
    assert status == expected, (status, body[:200])
    assert headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert set(doc) == {"error", "trace_id"} and re.fullmatch(r"[0-9a-f]{32}", doc["trace_id"])
    assert doc["trace_id"] == headers["traceresponse"].split("-")[1]
    assert doc["error"] == message
    return doc


def closed_by_server(s, timeout):
    """True when the server closes s (EOF or reset) within timeout, reading what it sends."""
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        return False
    return True


def limit_hits(port):
    _, _, body = request(port, "GET", "/metrics")
    return {m.group(1).decode(): float(m.group(2)) for m in
            re.finditer(rb'oteldemo_http_limit_hits_total\{reason="([a-z_]+)"[^}]*\} (\S+)', body)}


def worker_connections(port):
    _, _, body = request(port, "GET", "/metrics")
    return {m.group(1).decode(): float(m.group(2)) for m in
            re.finditer(rb'oteldemo_http_worker_connections_total\{worker="(\w+)"[^}]*\} (\S+)', body)}


def wait_for(predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_connections_over_the_per_client_limit_get_429_and_others_are_served(build_dir):
    with frontend(build_dir, max_connections_per_client=5) as fe:
        held = [connect(fe.port, ATTACKER) for _ in range(5)]
        try:
            with connect(fe.port, ATTACKER) as extra:
                assert_json_error(*read_reply(extra), 429, "too many connections from this address (at most 5)")
            with connect(fe.port, BYSTANDER) as other:
                assert get(other, "/healthz")[0] == 200
            assert limit_hits(fe.port)["max_connections_per_client"] == 1
            assert "Connection refused: 429 for 127.0.0.2: too many connections from this address (at most 5) " \
                   "([server] max_connections_per_client)" in fe.daemon.log_text()
        finally:
            for s in held:
                s.close()
        # The address's connections are counted down as they close: it may connect again.
        wait_for(lambda: connect_and_get(fe.port, ATTACKER) == 200)


def connect_and_get(port, source, path="/healthz"):
    with connect(port, source) as s:
        return get(s, path)[0]


def test_at_max_connections_health_is_answered_from_the_reserve_and_the_rest_gets_503(build_dir):
    with frontend(build_dir, max_connections=10, max_connections_per_client=100, health_connections=2) as fe:
        held = [connect(fe.port, ATTACKER) for _ in range(10)]
        try:
            time.sleep(0.2)  # the acceptor has taken them all
            with connect(fe.port, BYSTANDER) as probe:
                status, headers, body = get(probe, "/healthz")
                assert status == 200 and json.loads(body) == {"status": "ok"}
                assert headers["connection"] == "close"  # a reserve slot serves one request
            with connect(fe.port, BYSTANDER) as other:
                assert_json_error(*get(other, "/index.html"), 503,
                                  "server at its connection limit (10); only /healthz and /readyz answered")
            time.sleep(0.3)  # both reserve slots free again (the server closed them after the reply)
            reserve = [connect(fe.port, ATTACKER) for _ in range(2)]
            time.sleep(0.2)
            with connect(fe.port, BYSTANDER) as late:
                status, headers, body = read_reply(late)
                assert_json_error(status, headers, body, 503, "server at its connection limit (10)")
                assert headers["retry-after"] == "1"
            for s in reserve:
                s.close()
        finally:
            for s in held:
                s.close()
        # Not /healthz: the reserve answers that while the held connections' closes are still being
        # counted down (a loaded machine), and /metrics would then get the 503 (seen in a cold CI run).
        wait_for(lambda: connect_and_get(fe.port, BYSTANDER, "/metrics") == 200)
        # At least the 503 on the reserve and the one at accept (a reserve slot closing late adds one).
        assert limit_hits(fe.port)["max_connections"] >= 2


def test_a_trickled_request_head_is_cut_with_408_at_the_head_deadline(build_dir):
    with frontend(build_dir, request_head_timeout_s=2) as fe:
        with connect(fe.port, ATTACKER) as s:
            t0 = time.monotonic()
            s.setblocking(False)
            head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
            data = b""
            for byte in head:  # one byte every 50 ms: libmicrohttpd's inactivity timeout never fires
                try:
                    s.send(bytes([byte]))
                    data += s.recv(65536)
                    break
                except BlockingIOError:
                    time.sleep(0.05)
                except (BrokenPipeError, ConnectionResetError):
                    break
            took = time.monotonic() - t0
            assert 2.0 - EARLY_S <= took < 2.0 + MARGIN_S, took
            assert_json_error(*finish_reply(s, data), 408, "request head not received within 2 s")
            assert closed_by_server(s, REPLY_TIMEOUT_S)
        assert limit_hits(fe.port)["request_head_timeout_s"] == 1


class FakeSocket:
    """read_reply() over bytes already received."""

    def __init__(self, data):
        self.data = data

    def settimeout(self, _):
        pass

    def recv(self, _):
        data, self.data = self.data, b""
        return data


def finish_reply(s, data):
    """read_reply() of a JSON reply whose first bytes (data) were already received from s."""
    s.setblocking(True)
    s.settimeout(REPLY_TIMEOUT_S)
    while b"}" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return read_reply(FakeSocket(data))


def test_a_connection_that_sends_nothing_is_cut_at_the_head_deadline(build_dir):
    with frontend(build_dir, request_head_timeout_s=1) as fe:
        with connect(fe.port, ATTACKER) as s:
            t0 = time.monotonic()
            status, headers, body = read_reply(s)
            assert 1.0 - EARLY_S <= time.monotonic() - t0 < 1.0 + MARGIN_S
            assert_json_error(status, headers, body, 408, "request head not received within 1 s")


def test_a_trickled_body_is_cut_with_408_at_the_body_deadline(build_dir):
    with frontend(build_dir, request_body_timeout_s=2, request_head_timeout_s=30) as fe:
        with connect(fe.port, ATTACKER) as s:
            s.sendall(b"POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n")
            t0 = time.monotonic()
            s.settimeout(0.2)
            data = b""
            while time.monotonic() - t0 < 2.0 + MARGIN_S and not data:
                try:
                    s.send(b" ")
                    data = s.recv(65536)
                except socket.timeout:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
            took = time.monotonic() - t0
            assert 2.0 - EARLY_S <= took < 2.0 + MARGIN_S, took
            assert_json_error(*finish_reply(s, data), 408, "request body not received within 2 s")
        assert limit_hits(fe.port)["request_body_timeout_s"] == 1


def test_an_idle_kept_alive_connection_is_closed_after_connection_timeout_s(build_dir):
    with frontend(build_dir, connection_timeout_s=2) as fe:
        with connect(fe.port, ATTACKER) as s:
            assert get(s, "/healthz")[0] == 200
            t0 = time.monotonic()
            assert get(s, "/healthz")[0] == 200  # kept alive
            assert closed_by_server(s, 2.0 + MARGIN_S)
            assert 2.0 - EARLY_S <= time.monotonic() - t0 < 2.0 + MARGIN_S
        assert limit_hits(fe.port)["connection_timeout_s"] == 1


def test_connections_are_spread_evenly_over_the_workers(build_dir):
    with frontend(build_dir, threads=4) as fe:
        held = [connect(fe.port, ATTACKER) for _ in range(50)]
        try:
            for s in held:
                assert get(s, "/healthz")[0] == 200
            counts = worker_connections(fe.port)
        finally:
            for s in held:
                s.close()
        # 50 held connections (plus the /metrics one) over 4 workers: 12 or 13 each, ±10 % of 12.75.
        assert sorted(counts) == ["0", "1", "2", "3"], counts
        assert sum(counts.values()) == 51
        assert all(12 <= n <= 14 for n in counts.values()), counts


@pytest.mark.parametrize("key,value,allowed", [
    ("max_connections_per_client", "0", "1..65536"),
    ("max_connections", "70000", "1..65536"),
    ("health_connections", "2000", "0..1024"),
    ("request_head_timeout_s", "0", "1..3600"),
    ("request_body_timeout_s", "ten", "1..3600"),
    ("connection_timeout_s", "4000", "1..3600"),
])
def test_invalid_limits_are_rejected_naming_the_key(build_dir, key, value, allowed):
    wd = workdir()
    try:
        fe = Frontend(build_dir, NO_BACKEND, wd)
        write_config(fe.config, {"server": {key: value}, "backend": {"url": NO_BACKEND}})
        out = subprocess.run([str(fe.binary), "--config", str(fe.config), "--check-config"], env=fe.env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
        assert out.returncode == 78, out.stdout
        assert f"frontend.conf:2: [server] {key}: expected an integer in {allowed}, got '{value}'" in out.stdout
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def test_a_connection_past_the_descriptor_limit_gets_a_json_503_naming_the_client(build_dir):
    # 40 descriptors: max_connections is lowered to 16, but the daemon's own descriptors leave room for
    # fewer connections than that, so accept() meets EMFILE and the spare descriptor refuses the rest.
    wd = workdir()
    fe = Frontend(build_dir, NO_BACKEND, wd)
    write_config(fe.config, {"server": {"listen": f"127.0.0.1:{fe.port}", "www_dir": WWW_DIR, "threads": 1,
                                        "max_connections_per_client": 1000},
                             "backend": {"url": NO_BACKEND}})
    fe.daemon = Daemon(["prlimit", "--nofile=40:40", fe.binary, "--config", fe.config], fe.env, wd, "frontend")
    held = []
    try:
        fe.daemon.wait_for_notify("READY=1")
        held = [connect(fe.port, ATTACKER) for _ in range(40)]
        readable, _, _ = select.select(held, [], [], REPLY_TIMEOUT_S)
        assert readable, "none of 40 connections was refused"
        assert_json_error(*read_reply(readable[0]), 503, "server out of file descriptors")
        # The line is written after the reply: wait for it.
        fe.daemon.wait_for_log("Connection refused: 503 for 127.0.0.2: server out of file descriptors")
    finally:
        for s in held:
            s.close()
        fe.close()
        shutil.rmtree(wd, ignore_errors=True)


def test_max_connections_is_lowered_with_a_warning_when_rlimit_nofile_cannot_hold_it(build_dir):
    # 400 descriptors: 400 - 32 (health reserve) - 256 (kept for the rest) leaves 112 connections.
    wd = workdir()
    fe = Frontend(build_dir, NO_BACKEND, wd)
    write_config(fe.config, {"server": {"listen": f"127.0.0.1:{fe.port}", "www_dir": WWW_DIR,
                                        "max_connections_per_client": 1000},
                             "backend": {"url": NO_BACKEND}})
    fe.daemon = Daemon(["prlimit", "--nofile=400:400", fe.binary, "--config", fe.config], fe.env, wd, "frontend")
    try:
        fe.daemon.wait_for_notify("READY=1")
        assert "[server] max_connections = 8192 does not fit RLIMIT_NOFILE 400: at most 112 connections " \
               "(raise LimitNOFILE=)" in fe.daemon.log_text()
        held = [connect(fe.port, ATTACKER) for _ in range(112)]
        try:
            time.sleep(0.3)
            with connect(fe.port, BYSTANDER) as other:
                assert_json_error(*get(other, "/index.html"), 503,
                                  "server at its connection limit (112); only /healthz and /readyz answered")
        finally:
            for s in held:
                s.close()
    finally:
        fe.close()
        shutil.rmtree(wd, ignore_errors=True)
