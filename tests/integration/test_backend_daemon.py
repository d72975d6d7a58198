# oteldemo-backend as a daemon: the HTTP API over a real PostgreSQL (pg.py), sd_notify over a socket
# the test reads, signals, and the spans it exports as decoded by the independent OTLP receiver.
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import shop_stack
from pg import PgCluster, pg_cluster  # noqa: F401  (pytest fixture)
from shop_stack import Daemon, decoded_spans, free_port, request, request_json, wait_for_spans, workdir

ADMIN_TOKEN = "test-admin-token-0123456789"
MAX_BODY = 65536
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
NOT_READY_WAIT_S = 1.5
OUTAGE_BOUND_S = 1.0
RECOVERY_TIMEOUT_S = 15
SLOW_QUERY_MS = 1200


def daemon_sections(faults=None):
    """The config of this module's backends over shop_stack's defaults: a body limit, a short pool
    wait, an admin token and (when given) fault injection."""
    return {
        "server": {"max_body_bytes": MAX_BODY},
        "database": {"acquire_timeout_ms": 500},
        "telemetry": {"log_level": "info"},
        "admin": {"token": ADMIN_TOKEN},
        "faults": faults or None,
    }


class Backend(shop_stack.Backend):
    """shop_stack's backend with this module's config, in a work dir of its own."""

    def __init__(self, build_dir, conninfo, receiver=None, faults=None, port=None, **env):
        super().__init__(build_dir, conninfo, workdir(), receiver, port=port, config=daemon_sections(faults),
                         **env)

    def rewrite_faults(self, faults):
        self.rewrite_config({"faults": faults or None})

    def close(self):
        super().close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def admin(headers=None):
    return dict({"Authorization": f"Bearer {ADMIN_TOKEN}"}, **(headers or {}))


def trace_of(headers):
    """(trace id, span id) from a traceresponse header."""
    version, trace, span, flags = headers["traceresponse"].split("-")
    assert version == "00" and len(trace) == 32 and len(span) == 16 and len(flags) == 2
    return trace, span


def assert_error(status, headers, body, expected_status):
    assert status == expected_status, (status, body)
    assert headers["content-type"].startswith("application/json")
    assert set(body) == {"error", "trace_id"} and body["error"]
    assert body["trace_id"] == trace_of(headers)[0]


@pytest.fixture(scope="module")
def shop(build_dir, pg_cluster, receiver):  # noqa: F811
    db = pg_cluster.create_database()
    backend = Backend(build_dir, db.conninfo, receiver, WATCHDOG_USEC=1000000, OTEL_METRICS_EXPORTER="otlp",
                      OTEL_METRIC_EXPORT_INTERVAL=500)
    backend.migrate()
    backend.db = db
    backend.start()
    yield backend
    # A clean SIGTERM exit also proves there was no leak or sanitizer finding in the whole run.
    status = backend.daemon.stop()
    log = backend.daemon.log_text()
    backend.close()
    assert status == 0, log


# ---- start-up and configuration --------------------------------------------------------------------

def test_check_config_accepts_the_shipped_default(build_dir):
    with Backend(build_dir, "dbname=x") as b:
        out = b.run("--check-config")
    assert out.returncode == 0, out.stdout
    shipped = Path(__file__).resolve().parent.parent.parent / "etc/backend.conf"
    out = subprocess.run([str(Path(build_dir) / "src/backend/oteldemo-backend"), "--config", str(shipped),
                          "--check-config"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert out.returncode == 0, out.stdout


def test_check_config_names_file_line_and_key_and_exits_78(build_dir):
    with Backend(build_dir, "dbname=x") as b:
        b.config.write_text("[server]\nlisten = 127.0.0.1:1\n\n[faults]\npayment_failure_rate = 2\n")
        out = b.run("--check-config")
        assert out.returncode == 78
        assert f"{b.config}:5: [faults] payment_failure_rate: expected a number in 0..1, got '2'" in out.stdout
        b.config.write_text("[server]\nthreds = 4\n")
        out = b.run("--check-config")
        assert out.returncode == 78
        assert f"{b.config}:2: [server] threds: unknown key" in out.stdout


def test_help_documents_flags_and_keys(build_dir):
    with Backend(build_dir, "dbname=x") as b:
        out = b.run("--help")
    assert out.returncode == 0
    for word in ("--config", "--check-config", "--migrate", "--version", "listen", "pool_size",
                 "conninfo", "payment_failure_rate", "token_credential"):
        assert word in out.stdout


def test_ready_waits_for_database_and_outage_gives_503_then_recovers(build_dir):
    cluster = PgCluster()
    backend = None
    try:
        db = cluster.create_database()
        backend = Backend(build_dir, db.conninfo)
        backend.migrate()
        cluster.stop()
        backend.start(wait_ready=False)
        # Positive control first: the daemon talks on the notify socket (the STATUS line it sends while
        # waiting), so an empty read below means "no READY", not "nothing read".
        backend.daemon.wait_for_notify("STATUS=waiting for the database", timeout=5)
        time.sleep(NOT_READY_WAIT_S)
        early = list(backend.daemon.drain_notify())
        assert any(m.startswith("STATUS=waiting for the database") for m in early), early
        assert not any("READY=1" in m for m in early), early
        # What is waited for and why, in words (not "Resource temporarily unavailable errno=11").
        backend.daemon.wait_for_log("Not ready: waiting for the database ([database] conninfo) to answer, "
                                    "checking every ")
        assert "errno=11" not in backend.daemon.log_text()
        assert request(backend.port, "GET", "/healthz")[0] == 200
        status, headers, body = backend.req("GET", "/readyz")
        assert_error(status, headers, body, 503)

        # Only a READY sent after the database came back may count.
        backend.daemon.messages.clear()
        cluster.start()
        backend.daemon.wait_for_notify("READY=1")
        assert backend.req("GET", "/readyz")[0] == 200
        assert backend.req("GET", "/api/users/1")[0] == 200

        # PostgreSQL goes away: readiness and the API say 503 quickly, without hanging.
        cluster.stop("immediate")
        for path in ("/readyz", "/api/users/1", "/api/products?limit=5"):
            started = time.monotonic()
            status, headers, body = backend.req("GET", path)
            assert time.monotonic() - started < OUTAGE_BOUND_S, path
            assert_error(status, headers, body, 503)

        # Back again: the same daemon recovers.
        cluster.start()
        deadline = time.monotonic() + RECOVERY_TIMEOUT_S
        while backend.req("GET", "/api/users/1")[0] != 200:
            assert time.monotonic() < deadline, "no recovery after the database restarted"
            time.sleep(0.2)
        assert backend.req("GET", "/readyz")[0] == 200
        assert backend.daemon.stop() == 0
    finally:
        if backend:
            backend.close()
        cluster.close()


def test_refuses_to_start_on_an_unmigrated_schema(build_dir, pg_cluster):  # noqa: F811
    db = pg_cluster.create_database()
    backend = Backend(build_dir, db.conninfo)
    try:
        backend.start(wait_ready=False)
        assert backend.daemon.proc.wait(timeout=20) != 0
        assert "--migrate" in backend.daemon.log_text()
        assert not any("READY=1" in m for m in backend.daemon.drain_notify())
    finally:
        backend.close()


def test_socket_activation_uses_the_passed_socket(build_dir, shop):
    activator = shutil.which("systemd-socket-activate")
    if not activator:
        pytest.skip("systemd-socket-activate is not installed")
    port = free_port()
    backend = Backend(build_dir, shop.db.conninfo)  # its own listen port stays unused
    backend.daemon = Daemon([activator, "-l", f"127.0.0.1:{port}", backend.binary, "--config", backend.config],
                            backend.env, backend.workdir, "backend")
    try:
        backend.daemon.wait_for_log(f"{port} as 3")  # the activator listens
        assert request(port, "GET", "/healthz")[0] == 200
        backend.daemon.wait_for_log(f"Listening on 127.0.0.1:{port} (")
        with pytest.raises(OSError):
            request(backend.port, "GET", "/healthz", timeout=1)
    finally:
        backend.close()


def test_listens_on_ipv6_loopback(build_dir, shop):
    port = free_port()
    backend = Backend(build_dir, shop.db.conninfo, port=port)
    backend.rewrite_config({"server": {"listen": f"[::1]:{port}"}})
    try:
        backend.start()
        conn = http.client.HTTPConnection("::1", port, timeout=10)
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        backend.close()


# ---- API happy paths -------------------------------------------------------------------------------

def test_users_list_get_create_and_orders(shop):
    status, _, body = shop.req("GET", "/api/users?limit=3&offset=2")
    assert status == 200
    assert body["limit"] == 3 and body["offset"] == 2 and len(body["items"]) == 3 and body["total"] >= 100
    uid = body["items"][0]["id"]
    status, _, user = shop.req("GET", f"/api/users/{uid}")
    assert status == 200 and user["id"] == uid and "@" in user["email"]

    status, headers, created = shop.req("POST", "/api/users", {"name": "Ada", "email": "ada@example.org"})
    assert status == 201, created
    assert created["name"] == "Ada" and headers["location"] == f"/api/users/{created['id']}"
    status, _, orders = shop.req("GET", f"/api/users/{created['id']}/orders")
    assert status == 200 and orders["items"] == [] and orders["total"] == 0


def test_products_list_search_and_get(shop):
    status, _, body = shop.req("GET", "/api/products")
    assert status == 200 and body["limit"] == 50 and len(body["items"]) == 50 and body["total"] >= 1000
    name = body["items"][0]["name"]
    word = name.split()[0]
    status, _, found = shop.req("GET", f"/api/products?q={word.lower()}&limit=200")
    assert status == 200 and found["items"] and all(word.lower() in p["name"].lower() for p in found["items"])
    pid = body["items"][0]["id"]
    status, _, product = shop.req("GET", f"/api/products/{pid}")
    assert status == 200 and product["id"] == pid and product["price_cents"] >= 0


def test_order_create_get_and_idempotent_replay(shop):
    shop.db.sql("UPDATE products SET stock = 100 WHERE id = 3")
    key = {"Idempotency-Key": "order-key-1"}
    status, headers, order = shop.req("POST", "/api/orders", {"user_id": 2, "product_id": 3, "quantity": 2}, key)
    assert status == 201, order
    assert headers["location"] == f"/api/orders/{order['id']}"
    assert order["user_id"] == 2 and order["items"][0]["product_id"] == 3 and order["items"][0]["quantity"] == 2
    status, _, again = shop.req("POST", "/api/orders", {"user_id": 2, "product_id": 3, "quantity": 2}, key)
    assert status == 200 and again["id"] == order["id"]
    assert shop.db.scalar("SELECT count(*) FROM orders WHERE idempotency_key = 'order-key-1'") == "1"
    status, _, got = shop.req("GET", f"/api/orders/{order['id']}")
    assert status == 200 and got["id"] == order["id"]
    status, _, mine = shop.req("GET", "/api/users/2/orders")
    assert status == 200 and order["id"] in [o["id"] for o in mine["items"]]


def test_builtin_endpoints(shop):
    assert shop.req("GET", "/healthz")[:3:2] == (200, {"status": "ok"})
    assert shop.req("GET", "/readyz")[0] == 200
    status, headers, body = request(shop.port, "GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert b"http_server_request_duration" in body
    status, headers, body = request(shop.port, "GET", "/metrics",
                                    headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert status == 200 and headers["content-type"].startswith("application/openmetrics-text")
    status, headers, _ = request(shop.port, "GET", "/debug/tracez")
    assert status == 200 and headers["content-type"].startswith("text/html")
    status, headers, body = request(shop.port, "GET", "/debug/tracez?format=json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    json.loads(body)


# ---- API errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/api/users/abc", "/api/users/0", "/api/users/-1", "/api/users/01", "/api/users/99999999999999999999",
    "/api/users?limit=0", "/api/users?limit=201", "/api/users?limit=x", "/api/users?offset=-1",
    "/api/products?limit=1.5", "/api/orders/zero", "/api/users/1x/orders",
])
def test_invalid_url_integers_are_400(shop, path):
    assert_error(*shop.req("GET", path), 400)


@pytest.mark.parametrize("path", ["/api/users/999999", "/api/products/999999", "/api/orders/999999",
                                  "/api/users/999999/orders", "/api/nothing", "/"])
def test_unknown_resources_are_404(shop, path):
    assert_error(*shop.req("GET", path), 404)


def test_wrong_method_is_405_with_allow(shop):
    status, headers, body = shop.req("DELETE", "/api/users")
    assert_error(status, headers, body, 405)
    assert headers["allow"] == "GET, POST"


def test_body_errors_are_4xx_and_change_nothing(shop):
    before = shop.db.scalar("SELECT count(*) FROM users")
    status, headers, body = request_json(shop.port, "POST", "/api/users", b'{"name": "x", "email": ',
                                         {"Content-Type": "application/json"})
    assert_error(status, headers, body, 400)
    assert_error(*request_json(shop.port, "POST", "/api/users", b'{"name":"a","email":"a@b.c"} trailing',
                               {"Content-Type": "application/json"}), 400)
    assert_error(*request_json(shop.port, "POST", "/api/users", b'{"name":"a","email":"a@b.c"}',
                               {"Content-Type": "text/plain"}), 415)
    assert_error(*request_json(shop.port, "POST", "/api/users", b"", {"Content-Type": "application/json"}), 400)
    assert_error(*shop.req("POST", "/api/users", {"name": 5, "email": "typed@example.org"}), 400)
    assert_error(*shop.req("POST", "/api/orders", {"user_id": "1", "product_id": 1, "quantity": 1}), 400)
    assert_error(*shop.req("POST", "/api/orders", {"user_id": 1, "product_id": 1, "quantity": 0}), 400)
    assert_error(*request_json(shop.port, "POST", "/api/users", b"[" * 100 + b"]" * 100,
                               {"Content-Type": "application/json"}), 400)
    big = json.dumps({"name": "n" * MAX_BODY, "email": "big@example.org"}).encode()
    assert body["error"] == ("request body is not valid JSON: the text ends before the JSON value does "
                             "(an unclosed string, array or object?) at byte 23"), body
    assert_error(*request_json(shop.port, "POST", "/api/users", big, {"Content-Type": "application/json"}), 413)
    injection = "x'); DROP TABLE users; --"
    status, _, _ = shop.req("GET", f"/api/products?q={injection.replace(' ', '%20')}")
    assert status == 200
    assert shop.db.scalar("SELECT count(*) FROM users") == before


@pytest.mark.parametrize("raw, message", [
    # Issue 11: what is wrong and where, not json-c's state name ("continue").
    (b'{"name": x}', "request body is not valid JSON: unexpected character: 'x' at byte 9"),
    (b'{name: "x"}', "request body is not valid JSON: expected a quoted key in an object: 'n' at byte 1"),
    (b'{"name": "a", "email": "a@b.c"} trailing',
     "request body is not valid JSON: unexpected character: 't' at byte 32"),
    (b'{"name": "a\x00"}', "request body is not valid JSON: a NUL byte at byte 11"),
])
def test_json_body_errors_say_what_and_where(shop, raw, message):
    status, headers, body = request_json(shop.port, "POST", "/api/users", raw, {"Content-Type": "application/json"})
    assert_error(status, headers, body, 400)
    assert body["error"] == message


def test_oversized_headers_are_refused(shop):
    status, _, _ = request(shop.port, "GET", "/healthz", headers={"X-Big": "a" * 40000})
    assert status in (413, 431)
    assert shop.req("GET", "/healthz")[0] == 200


def test_admin_token_from_systemd_credential_wins(build_dir, shop):
    creds = workdir()
    token = creds / "admin-token"
    token.write_text("credential-token-0123456789\n")
    token.chmod(0o600)
    backend = Backend(build_dir, shop.db.conninfo, CREDENTIALS_DIRECTORY=creds)
    try:
        backend.start()
        assert_error(*backend.req("GET", "/admin/faults", headers=admin()), 403)
        status, _, faults = backend.req("GET", "/admin/faults",
                                        headers={"Authorization": "Bearer credential-token-0123456789"})
        assert status == 200 and faults["product_failure_id"] == 0
        assert backend.daemon.stop() == 0
    finally:
        backend.close()
    token.chmod(0o644)  # readable by others: not a secret any more, the daemon refuses it
    backend = Backend(build_dir, shop.db.conninfo, CREDENTIALS_DIRECTORY=creds)
    try:
        backend.start(wait_ready=False)
        assert backend.daemon.proc.wait(timeout=20) != 0
        assert "admin-token" in backend.daemon.log_text()
    finally:
        backend.close()
        shutil.rmtree(creds, ignore_errors=True)


def test_unknown_user_product_and_stock_errors_on_orders(shop):
    shop.db.sql("UPDATE products SET stock = 1 WHERE id = 5")
    assert_error(*shop.req("POST", "/api/orders", {"user_id": 999999, "product_id": 5, "quantity": 1}), 404)
    assert_error(*shop.req("POST", "/api/orders", {"user_id": 1, "product_id": 999999, "quantity": 1}), 404)
    assert_error(*shop.req("POST", "/api/orders", {"user_id": 1, "product_id": 5, "quantity": 2}), 409)
    assert shop.db.scalar("SELECT stock FROM products WHERE id = 5") == "1"


def test_admin_faults_requires_the_bearer_token(shop):
    status, headers, body = shop.req("PUT", "/admin/faults", {"product_failure_id": 7})
    assert_error(status, headers, body, 401)
    assert headers["www-authenticate"].startswith("Bearer")
    assert_error(*shop.req("PUT", "/admin/faults", {"product_failure_id": 7},
                           {"Authorization": "Bearer wrong-token-wrong-token"}), 403)
    assert_error(*shop.req("PUT", "/admin/faults", {"product_failure_id": -1}, admin()), 400)

    status, _, faults = shop.req("PUT", "/admin/faults", {"product_failure_id": 7}, admin())
    assert status == 200 and faults["product_failure_id"] == 7
    assert_error(*shop.req("GET", "/api/products/7"), 500)
    assert shop.req("GET", "/api/products/8")[0] == 200
    status, _, faults = shop.req("PUT", "/admin/faults", {"product_failure_id": 0}, admin())
    assert status == 200 and shop.req("GET", "/api/products/7")[0] == 200


# ---- systemd: reload, watchdog, status -------------------------------------------------------------

def test_sighup_reloads_faults_with_reloading_then_ready(shop):
    shop.rewrite_faults({"product_failure_id": 9})
    shop.daemon.messages.clear()
    shop.daemon.proc.send_signal(signal.SIGHUP)
    shop.daemon.wait_for_notify("READY=1", timeout=10)
    words = [m.split("=")[0] for m in shop.daemon.messages if m.startswith(("RELOADING", "READY"))]
    assert words.index("RELOADING") < words.index("READY")
    assert any(m.startswith("MONOTONIC_USEC=") for m in shop.daemon.messages)
    assert_error(*shop.req("GET", "/api/products/9"), 500)

    shop.rewrite_faults({})
    shop.daemon.messages.clear()
    shop.daemon.proc.send_signal(signal.SIGHUP)
    shop.daemon.wait_for_notify("READY=1", timeout=10)
    assert shop.req("GET", "/api/products/9")[0] == 200


def test_invalid_config_on_sighup_keeps_running(shop):
    shop.config.write_text(shop.config.read_text() + "\n[bogus]\nx = 1\n")
    shop.daemon.messages.clear()
    shop.daemon.proc.send_signal(signal.SIGHUP)
    shop.daemon.wait_for_notify("READY=1", timeout=10)
    assert shop.req("GET", "/healthz")[0] == 200
    assert "unknown section" in shop.daemon.log_text()
    shop.rewrite_faults({})


def test_sighup_with_a_changed_sampler_stops_exporting_new_spans(build_dir, shop, receiver):
    before, after = "6bf92f3577b34da6a3ce929d0e0e4738", "7bf92f3577b34da6a3ce929d0e0e4739"
    backend = Backend(build_dir, shop.db.conninfo, receiver)
    backend.rewrite_config({"telemetry": {"sampler": "always_on"}})
    try:
        backend.start()
        # Not sampled by the caller: always_on records it anyway.
        assert backend.req("GET", "/api/users/1", headers={"traceparent": f"00-{before}-{PARENT_ID}-00"})[0] == 200
        wait_for_spans(receiver, before, lambda spans: any(s["kind"] == 2 for s in spans))

        backend.rewrite_config({"telemetry": {"sampler": "always_off"}})
        backend.daemon.messages.clear()
        backend.daemon.proc.send_signal(signal.SIGHUP)
        backend.daemon.wait_for_notify("READY=1", timeout=10)
        # Sampled by the caller: always_off drops it all the same.
        assert backend.req("GET", "/api/users/1", headers={"traceparent": f"00-{after}-{PARENT_ID}-01"})[0] == 200
        assert backend.daemon.stop() == 0  # a clean exit flushes whatever spans were still queued
        assert [(s["name"], s["kind"]) for s in decoded_spans(receiver) if s["trace_id"] == after] == []
    finally:
        backend.close()


def test_watchdog_and_status_are_sent(shop):
    shop.daemon.messages.clear()
    shop.daemon.wait_for_notify("WATCHDOG=1", timeout=5)
    shop.daemon.wait_for_notify("STATUS=", timeout=8)
    status = [m for m in shop.daemon.messages if m.startswith("STATUS=")][-1]
    assert "req/s" in status and "pool" in status


# ---- tracing ---------------------------------------------------------------------------------------

def test_traceparent_continues_and_spans_link_server_to_db(shop, receiver):
    headers = {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "User-Agent": "pytest-backend"}
    status, hdrs, _ = shop.req("GET", "/api/users/3", headers=headers)
    assert status == 200
    trace, span_id = trace_of(hdrs)
    assert trace == TRACE_ID and span_id != PARENT_ID

    def complete(spans):
        return any(s["kind"] == 2 for s in spans) and any(s["kind"] == 3 for s in spans)

    spans = wait_for_spans(receiver, TRACE_ID, complete)
    server = [s for s in spans if s["kind"] == 2]
    assert len(server) == 1
    server = server[0]
    assert server["name"] == "GET /api/users/{id}"
    assert server["span_id"] == span_id and server["parent"] == PARENT_ID
    a = server["attrs"]
    assert a["http.request.method"] == "GET" and a["url.path"] == "/api/users/3"
    assert a["http.route"] == "/api/users/{id}" and a["http.response.status_code"] == 200
    assert a["server.address"] == "127.0.0.1" and a["server.port"] == shop.port
    assert a["client.address"] == "127.0.0.1" and a["user_agent.original"] == "pytest-backend"
    assert a["network.protocol.version"] == "1.1" and "error.type" not in a
    db_spans = [s for s in spans if s["kind"] == 3]
    assert db_spans and all(s["parent"] == server["span_id"] or s["parent"] in {x["span_id"] for x in spans}
                            for s in db_spans)
    assert any(s["parent"] == server["span_id"] and s["attrs"].get("db.system.name") == "postgresql"
               for s in db_spans)


def test_server_error_span_has_error_type_and_status(shop, receiver):
    trace = "5bf92f3577b34da6a3ce929d0e0e4737"
    assert shop.req("PUT", "/admin/faults", {"product_failure_id": 11}, admin())[0] == 200
    try:
        status, hdrs, body = shop.req("GET", "/api/products/11",
                                      headers={"traceparent": f"00-{trace}-{PARENT_ID}-01"})
        assert_error(status, hdrs, body, 500)
        assert body["trace_id"] == trace
    finally:
        shop.req("PUT", "/admin/faults", {"product_failure_id": 0}, admin())
    spans = wait_for_spans(receiver, trace, lambda s: any(x["kind"] == 2 for x in s))
    server = [s for s in spans if s["kind"] == 2][0]
    assert server["attrs"]["error.type"] == "500" and server["status"] == 2


def exported_metric_points(receiver, name):
    """Data points of metric name from every /v1/metrics export, with attributes as a dict."""
    points = []
    for req in receiver.requests():
        if req.get("path") != "/v1/metrics" or not req.get("decoded"):
            continue
        for rm in req["decoded"].get("resourceMetrics", []):
            for sm in rm.get("scopeMetrics", []):
                for m in sm.get("metrics", []):
                    if m.get("name") != name:
                        continue
                    for kind in ("histogram", "sum", "gauge"):
                        for dp in m.get(kind, {}).get("dataPoints", []):
                            points.append(dict(dp, kind=kind, unit=m.get("unit"),
                                               attrs={a["key"]: a["value"] for a in dp.get("attributes", [])}))
    return points


def products_id_200_points(receiver):
    return [p for p in exported_metric_points(receiver, "http.server.request.duration")
            if p["attrs"].get("http.route", {}).get("stringValue") == "/api/products/{id}"
            and str(p["attrs"].get("http.response.status_code", {}).get("intValue")) == "200"]


METRIC_REQUESTS = 3


def test_http_server_metrics_are_exported_with_semconv_attributes(shop, receiver):
    # Cumulative histogram on a shared daemon: the count grows by exactly the requests made here.
    earlier = products_id_200_points(receiver)
    before = int(earlier[-1]["count"]) if earlier else 0
    for _ in range(METRIC_REQUESTS):
        assert shop.req("GET", "/api/products/2")[0] == 200
    deadline = time.monotonic() + 10
    while True:
        points = products_id_200_points(receiver)
        if (points and int(points[-1]["count"]) >= before + METRIC_REQUESTS) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert points, "http.server.request.duration for /api/products/{id} not exported"
    p = points[-1]
    assert p["kind"] == "histogram" and p["unit"] == "s" and int(p["count"]) == before + METRIC_REQUESTS, p
    assert p["attrs"]["http.request.method"] == {"stringValue": "GET"}
    assert p["attrs"]["url.scheme"] == {"stringValue": "http"} and "error.type" not in p["attrs"]
    active = exported_metric_points(receiver, "http.server.active_requests")
    assert active and active[-1]["kind"] == "sum"


# glibc reserves each malloc arena but the main one as a 64 MiB-aligned mapping (HEAP_MAX_SIZE on 64-bit).
GLIBC_ARENA_ALIGN = 64 << 20


def malloc_arenas(pid):
    """The malloc arenas of pid: the main one (brk heap) and every 64 MiB-aligned anonymous mapping."""
    starts = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split()
        lo = int(fields[0].split("-")[0], 16)
        if len(fields) == 5 and fields[1] == "rw-p" and lo % GLIBC_ARENA_ALIGN == 0:
            starts.add(lo)
    return 1 + len(starts)


@pytest.mark.skipif("MALLOC_ARENA_MAX" in os.environ or "arena_max" in os.environ.get("GLIBC_TUNABLES", ""),
                    reason="the environment sets its own arena cap")
def test_malloc_arenas_are_capped_at_one_per_cpu(shop):
    # service.c: glibc's own cap is 8 arenas per CPU, one for each thread that allocates; the daemon's
    # is one per CPU. 8 server threads answering 32 clients at once must not open more.
    if "libasan" in Path(f"/proc/{shop.daemon.proc.pid}/maps").read_text():
        # ASan's allocator replaces glibc's (and its own regions look like arenas here: 76 counted);
        # scripts/test-sanitizers' valgrind pass runs this test on a plain build.
        pytest.skip("ASan replaces glibc's malloc: no arenas to count")
    statuses = []

    def client():
        for _ in range(20):
            statuses.append(request(shop.port, "GET", "/api/products/1")[0])

    clients = [threading.Thread(target=client) for _ in range(32)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    assert statuses == [200] * 640
    assert malloc_arenas(shop.daemon.proc.pid) <= os.cpu_count()


def test_invalid_traceparent_starts_a_new_trace(shop):
    status, hdrs, _ = shop.req("GET", "/healthz", headers={"traceparent": f"00-{'0' * 32}-{PARENT_ID}-01"})
    assert status == 200 and trace_of(hdrs)[0] != "0" * 32


# ---- shutdown --------------------------------------------------------------------------------------

def test_sigterm_lets_in_flight_requests_finish_and_exits_0(build_dir, pg_cluster):  # noqa: F811
    db = pg_cluster.create_database()
    backend = Backend(build_dir, db.conninfo)
    try:
        backend.migrate()
        backend.start()
        # Slow queries make requests that are still running when SIGTERM arrives.
        assert backend.req("PUT", "/admin/faults", {"db_slow_query_ms": SLOW_QUERY_MS}, admin())[0] == 200
        results = []

        def call():
            try:
                results.append(backend.req("GET", "/api/products/1")[0])
            except OSError as e:
                results.append(repr(e))

        threads = [threading.Thread(target=call) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.4)
        backend.daemon.proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(timeout=30)
        assert results == [200, 200, 200]
        assert backend.daemon.proc.wait(timeout=30) == 0
        assert "STOPPING=1" in backend.daemon.drain_notify()
    finally:
        backend.close()


SIGTERM_ROUNDS = 8
SIGTERM_EXIT_S = 8  # the drain deadline (5 s default) plus the final export, with margin


def thread_stacks(pid):
    """All threads' stacks of a hung daemon (for the failure message), when gdb is there."""
    try:
        return subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return repr(e)


def test_sigterm_under_load_with_the_watchdog_probe_running_exits_every_time(build_dir, pg_cluster,
                                                                             receiver):  # noqa: F811
    """SIGTERM while requests, the metrics export and a 10 ms watchdog probe run, several times; each
    exit comes within the drain deadline. Nobody reads the notify socket here, so it fills after
    net.unix.max_dgram_qlen messages: the main loop must not block on WATCHDOG=1/STATUS= (it did, in
    sd_notify's sendmsg, and never took the pending SIGTERM)."""
    db = pg_cluster.create_database()
    for round_ in range(SIGTERM_ROUNDS):
        backend = Backend(build_dir, db.conninfo, receiver, WATCHDOG_USEC=20000, OTEL_METRICS_EXPORTER="otlp",
                          OTEL_METRIC_EXPORT_INTERVAL=100)
        try:
            if round_ == 0:
                backend.migrate()
            backend.start()
            stop = threading.Event()

            def load():
                while not stop.is_set():
                    try:
                        backend.req("GET", "/api/products/1" if random.random() < 0.5 else "/healthz")
                    except (OSError, ValueError):
                        pass

            threads = [threading.Thread(target=load) for _ in range(6)]
            for t in threads:
                t.start()
            time.sleep(0.3 + random.random() * 0.5)
            backend.daemon.proc.send_signal(signal.SIGTERM)
            try:
                status = backend.daemon.proc.wait(timeout=SIGTERM_EXIT_S)
            except subprocess.TimeoutExpired:
                status = None
                stacks = thread_stacks(backend.daemon.proc.pid)
            stop.set()
            for t in threads:
                t.join(timeout=30)
            assert status == 0, (round_, status, stacks if status is None else backend.daemon.log_text())
        finally:
            backend.close()


# ---- orders abandoned by a crash -------------------------------------------------------------------

CRASH_ORDERS = 6
# In flight while the backend is killed: the provider answers only after this (timeout above it).
CRASH_PAYMENT_LATENCY_MS = 30000
PENDING_WAIT_S = 30
SWEEP_WAIT_S = 40


def pending_orders(db):
    return int(db.scalar("SELECT count(*) FROM orders WHERE status = 'pending'"))


def metric_value(port, name):
    """The value of an unlabelled series in the daemon's /metrics, or None."""
    _, _, text = request(port, "GET", "/metrics")
    for line in text.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_orders_pending_when_the_backend_was_killed_are_compensated_after_restart(build_dir, pg_cluster):  # noqa: F811
    db = pg_cluster.create_database()
    products = list(range(40, 40 + CRASH_ORDERS))
    slow = {"payment": {"latency_min_ms": CRASH_PAYMENT_LATENCY_MS, "latency_jitter_ms": 0,
                        "timeout_ms": CRASH_PAYMENT_LATENCY_MS + 1000}}
    first = shop_stack.Backend(build_dir, db, workdir(), config=dict(daemon_sections(), **slow))
    # Expiry after the restart: timeout 1000 + acquire 500 + the 5000 ms margin.
    fast = {"payment": {"latency_min_ms": 0, "latency_jitter_ms": 0, "timeout_ms": 1000}}
    second = None
    try:
        first.migrate()
        first.start()
        stock = {p: int(db.scalar(f"SELECT stock FROM products WHERE id = {p}")) for p in products}
        orders = int(db.scalar("SELECT count(*) FROM orders"))

        def order(p):
            try:
                request_json(first.port, "POST", "/api/orders", {"user_id": 2, "product_id": p, "quantity": 2},
                             {"Idempotency-Key": f"crash-{p}"}, timeout=60)
            except OSError:
                pass  # the backend is killed under it

        threads = [threading.Thread(target=order, args=(p,)) for p in products]
        for t in threads:
            t.start()
        deadline = time.monotonic() + PENDING_WAIT_S
        while pending_orders(db) < CRASH_ORDERS:
            assert time.monotonic() < deadline, first.daemon.log_text()
            time.sleep(0.05)
        first.daemon.proc.kill()  # kill -9 while every payment is in flight
        first.daemon.proc.wait()
        for t in threads:
            t.join(timeout=60)
        taken = {p: int(db.scalar(f"SELECT stock FROM products WHERE id = {p}")) for p in products}
        assert taken == {p: s - 2 for p, s in stock.items()}

        second = shop_stack.Backend(build_dir, db, workdir(),
                                    config=dict(daemon_sections(), **fast))
        second.start()
        # Younger than the expiry: the sweep at start leaves them alone (a live backend may own them).
        assert pending_orders(db) == CRASH_ORDERS
        deadline = time.monotonic() + SWEEP_WAIT_S
        while pending_orders(db) > 0:
            assert time.monotonic() < deadline, second.daemon.log_text()
            time.sleep(0.2)
        after = {p: int(db.scalar(f"SELECT stock FROM products WHERE id = {p}")) for p in products}
        assert after == stock
        assert int(db.scalar("SELECT count(*) FROM orders")) == orders
        assert db.scalar("SELECT count(*) FROM order_items i LEFT JOIN orders o ON o.id = i.order_id"
                         " WHERE o.id IS NULL") == "0"
        second.daemon.wait_for_log("was abandoned pending")
        assert second.daemon.log_text().count("was abandoned pending") == CRASH_ORDERS
        assert metric_value(second.port, "oteldemo_orders_expired_total") == CRASH_ORDERS
        # The key of an abandoned order is free again: a retry creates the order, once.
        status, _, body = second.req("POST", "/api/orders", {"user_id": 2, "product_id": products[0], "quantity": 2},
                                     {"Idempotency-Key": f"crash-{products[0]}"})
        assert status == 201 and body["status"] == "paid", body
        assert int(db.scalar(f"SELECT stock FROM products WHERE id = {products[0]}")) == stock[products[0]] - 2
    finally:
        first.close()
        if second:
            second.close()
        for b in (first, second):
            if b:
                shutil.rmtree(b.workdir, ignore_errors=True)
