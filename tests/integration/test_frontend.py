# oteldemo-frontend against the real backend and PostgreSQL: static files (types, caching, gzip,
# traversal), the /api/* proxy route by route, one trace from the caller to the database, and a backend
# that is down or slow. A small fake backend (in this process) shows exactly what the proxy forwards.
import concurrent.futures
import gzip
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

from pg import pg_cluster  # noqa: F401  (pytest fixture)
from shop_stack import (WWW_DIR, Frontend, LocalHttpServer, clean_env, credentials_dir, free_port, merge_sections,
                        request,
                        request_json, running_shop, wait_for_spans, workdir, write_config)

TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$")
SPAN_KIND_SERVER = 2
SPAN_KIND_CLIENT = 3
STATUS_ERROR = 2
CONFIG_EXIT_INVALID = 78


@pytest.fixture(scope="module")
def site_dir():
    """A copy of www/ with symlinks that point out of it (and one inside), which must never be served."""
    d = workdir() / "www"
    shutil.copytree(WWW_DIR, d)
    os.symlink("/etc/passwd", d / "passwd.txt")
    os.symlink("/etc", d / "etc")
    os.symlink("app.js", d / "inner-link.js")
    (d / ".hidden").write_text("secret\n")
    yield d
    shutil.rmtree(d.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def shop(build_dir, pg_cluster, receiver, site_dir):  # noqa: F811
    """Backend (migrated sample data) + frontend, shared by the read-mostly tests of this module."""
    with running_shop(build_dir, pg_cluster, receiver, www_dir=site_dir,
                      jaeger_url="http://jaeger.example:16686/") as shop:
        yield shop


def new_traceparent():
    trace_id = uuid.uuid4().hex
    span_id = uuid.uuid4().hex[:16]
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


# ---- static files -----------------------------------------------------------------------------------

def test_index_is_served_as_html_with_validators_and_cache_control(shop):
    status, hdrs, body = shop.frontend.get("/")
    assert status == 200
    assert hdrs["content-type"] == "text/html; charset=utf-8"
    assert body == (WWW_DIR / "index.html").read_bytes()
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', hdrs["etag"])
    assert hdrs["last-modified"].endswith(" GMT")
    assert hdrs["cache-control"] == "no-cache"
    assert "default-src 'self'" in hdrs["content-security-policy"]
    assert hdrs["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path,ctype", [
    ("/app.js", "text/javascript; charset=utf-8"),
    ("/style.css", "text/css; charset=utf-8"),
    ("/favicon.svg", "image/svg+xml"),
])
def test_assets_have_their_content_type_and_may_be_cached(shop, path, ctype):
    status, hdrs, body = shop.frontend.get(path)
    assert status == 200
    assert hdrs["content-type"] == ctype
    assert hdrs["cache-control"].startswith("public, max-age=")
    assert body == (WWW_DIR / path.lstrip("/")).read_bytes()


def test_matching_if_none_match_gives_304_without_body(shop):
    _, hdrs, _ = shop.frontend.get("/app.js")
    status, hdrs2, body = shop.frontend.get("/app.js", headers={"If-None-Match": hdrs["etag"]})
    assert status == 304
    assert body == b""
    assert hdrs2["etag"] == hdrs["etag"]
    status, _, body = shop.frontend.get("/app.js", headers={"If-None-Match": '"other"'})
    assert status == 200 and body


def test_if_modified_since_gives_304_for_an_unchanged_file(shop):
    _, hdrs, _ = shop.frontend.get("/style.css")
    status, _, body = shop.frontend.get("/style.css", headers={"If-Modified-Since": hdrs["last-modified"]})
    assert status == 304 and body == b""


def test_gzip_is_sent_only_when_accepted(shop):
    plain = (WWW_DIR / "app.js").read_bytes()
    status, hdrs, body = shop.frontend.get("/app.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200
    assert hdrs["content-encoding"] == "gzip"
    assert hdrs["vary"] == "Accept-Encoding"
    assert len(body) < len(plain)
    assert gzip.decompress(body) == plain
    gz_etag = hdrs["etag"]
    status, hdrs, body = shop.frontend.get("/app.js", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in hdrs and body == plain
    assert hdrs["etag"] != gz_etag  # two representations, two validators
    status, _, _ = shop.frontend.get("/app.js", headers={"Accept-Encoding": "gzip", "If-None-Match": gz_etag})
    assert status == 304


def test_a_changed_file_is_served_new_at_once(shop, site_dir):
    target = site_dir / "changing.txt"
    target.write_text("first version\n")
    assert shop.frontend.get("/changing.txt")[2] == b"first version\n"
    time.sleep(0.02)
    target.write_text("second, longer version\n")
    assert shop.frontend.get("/changing.txt")[2] == b"second, longer version\n"


def test_missing_file_is_404(shop):
    assert shop.frontend.get("/no-such-file.js")[0] == 404


@pytest.mark.parametrize("path", [
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/css/..%5c..%5cetc%5cpasswd",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/./index.html",
    "//etc/passwd",
])
def test_traversal_attempts_are_refused(shop, path):
    status, _, body = shop.frontend.get(path)
    assert status in (400, 404), f"{path} → {status}"
    assert b"root:" not in body


@pytest.mark.parametrize("path", ["/passwd.txt", "/etc/passwd", "/etc/hostname", "/inner-link.js", "/.hidden"])
def test_symlinks_and_hidden_files_are_never_served(shop, path):
    status, _, body = shop.frontend.get(path)
    assert status == 404, f"{path} → {status}"
    assert b"root:" not in body and b"secret" not in body


def test_nul_in_path_never_reaches_the_file_system(shop):
    status, _, body = shop.frontend.get("/index.html%00/../../etc/passwd")
    assert status == 400
    assert b"root:" not in body


@pytest.mark.parametrize("path", ["/index.html%00.png", "/index.html%0a", "/api/products%01", "/a%7Fb",
                                  "/api/users/1%00"])
@pytest.mark.parametrize("daemon", ["frontend", "backend"])
def test_control_bytes_in_path_are_400_with_json_error(shop, daemon, path):
    status, hdrs, err = request_json(getattr(shop, daemon).port, "GET", path)
    assert status == 400, f"{daemon} {path} → {status}"
    assert hdrs["content-type"].startswith("application/json")
    assert err["error"] == "request path contains a control character"



def raw_reply(port, data):
    """Sends raw request bytes and reads until the server closes; returns (status, {header: value}, body).
    A server that keeps the connection open fails the test with a timeout."""
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        while chunk := s.recv(65536):
            got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    status_line, *fields = head.decode("latin-1").split("\r\n")
    hdrs = {k.lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
    return int(status_line.split()[1]), hdrs, body


def assert_json_error_and_close(reply, status, error):
    got_status, hdrs, body = reply
    assert got_status == status, body[:200]
    assert hdrs["content-type"].startswith("application/json") and hdrs["connection"] == "close"
    assert json.loads(body)["error"] == error


# libmicrohttpd 0.9.75 cuts the request line at a raw NUL: "/index.html\0.png" would serve index.html.
@pytest.mark.parametrize("line", [b"GET /index.html\0.png HTTP/1.1", b"GET /api/users/1\0/../2 HTTP/1.1",
                                  b"GET /api/products?q=a\0b HTTP/1.1", b"GET\0X /index.html HTTP/1.1"])
@pytest.mark.parametrize("daemon", ["frontend", "backend"])
def test_raw_nul_in_the_request_line_is_400_with_json_error(shop, daemon, line):
    reply = raw_reply(getattr(shop, daemon).port, line + b"\r\nHost: 127.0.0.1\r\n\r\n")
    assert_json_error_and_close(reply, 400, "request line contains a NUL byte")


@pytest.mark.parametrize("line", [b"GET /healthz?x=%41 HTTP/1.1", b"GET   /healthz HTTP/1.1",
                                  b"GET /healthz HTTP/1.0"])
def test_request_lines_without_nul_are_served(shop, line):
    host = b"" if line.endswith(b"1.0") else b"Host: 127.0.0.1\r\n"
    status, _, body = raw_reply(shop.backend.port, line + b"\r\n" + host + b"Connection: close\r\n\r\n")
    assert status == 200, body[:200]


@pytest.mark.parametrize("hosts", [b"", b"Host: a\r\nHost: b\r\n"])
@pytest.mark.parametrize("daemon", ["frontend", "backend"])
def test_http11_request_without_exactly_one_host_is_400(shop, daemon, hosts):  # RFC 9112 section 3.2
    reply = raw_reply(getattr(shop, daemon).port, b"GET /healthz HTTP/1.1\r\n" + hosts + b"\r\n")
    assert_json_error_and_close(reply, 400, "an HTTP/1.1 request needs exactly one Host header")


@pytest.mark.parametrize("coding", [b"xchunked", b"gzip, chunked"])
def test_unknown_transfer_coding_is_501_and_the_rest_is_not_read(shop, coding):  # RFC 9112 section 6.1
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    reply = raw_reply(shop.backend.port, b"POST /api/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding
                      + b"\r\n\r\n" + smuggled)
    assert_json_error_and_close(reply, 501, "only the chunked transfer coding is implemented")
    assert b"HTTP/1.1 200" not in reply[2]


def test_ui_config_names_the_configured_jaeger(shop):
    status, hdrs, cfg = request_json(shop.frontend.port, "GET", "/ui-config.json")
    assert status == 200 and hdrs["content-type"].startswith("application/json")
    assert cfg == {"jaeger_url": "http://jaeger.example:16686"}


# ---- the proxy, route by route ----------------------------------------------------------------------

def both(shop, method, path, body=None, headers=None):
    """The same request to the frontend and straight to the backend."""
    f = request_json(shop.frontend.port, method, path, body, headers)
    b = request_json(shop.backend.port, method, path, body, headers)
    return f, b


def without_trace(obj):
    return {k: v for k, v in obj.items() if k != "trace_id"} if isinstance(obj, dict) else obj


@pytest.mark.parametrize("path,status", [
    ("/api/products", 200),
    ("/api/products?limit=5&offset=10", 200),
    ("/api/products?q=bamboo%20tent&limit=3", 200),
    ("/api/products?q=%25&limit=2", 200),
    ("/api/products?limit=0", 400),
    ("/api/products?limit=abc", 400),
    ("/api/products/1", 200),
    ("/api/products/99999999", 404),
    ("/api/products/abc", 400),
    ("/api/users?limit=3", 200),
    ("/api/users/1", 200),
    ("/api/users/99999999", 404),
    ("/api/users/1/orders", 200),
    ("/api/users/99999999/orders", 404),
    ("/api/orders/1", 200),
    ("/api/orders/99999999", 404),
    ("/api/no-such-thing", 404),
])
def test_get_routes_answer_exactly_what_the_backend_answers(shop, path, status):
    (fs, fh, fb), (bs, bh, bb) = both(shop, "GET", path)
    assert fs == bs == status, f"{path}: frontend {fs} {fb}, backend {bs} {bb}"
    assert fh["content-type"] == bh["content-type"]
    assert without_trace(fb) == without_trace(bb)
    assert isinstance(fb, dict) and fb
    if status >= 400:
        assert isinstance(fb["error"], str) and re.fullmatch(r"[0-9a-f]{32}", fb["trace_id"])


def test_wrong_method_is_405_with_allow(shop):
    status, hdrs, body = request_json(shop.frontend.port, "DELETE", "/api/products/1")
    assert status == 405
    assert "GET" in hdrs["allow"]


def test_user_create_is_201_then_409_for_the_same_email(shop):
    email = f"proxy-{uuid.uuid4().hex[:8]}@example.com"
    status, _, user = request_json(shop.frontend.port, "POST", "/api/users", {"name": "Proxy Test", "email": email})
    assert status == 201 and user["email"] == email and user["id"] > 0
    status, _, err = request_json(shop.frontend.port, "POST", "/api/users", {"name": "Again", "email": email})
    assert status == 409 and err["error"]


@pytest.mark.parametrize("body,headers,status", [
    (b"{not json", {"Content-Type": "application/json"}, 400),
    (b'{"name": "x", "email": "y@z"}', {"Content-Type": "text/plain"}, 415),
    (b'{"name": 5, "email": "a@b.c"}', {"Content-Type": "application/json"}, 400),
])
def test_bad_user_bodies_get_the_backends_4xx(shop, body, headers, status):
    (fs, _, fb), (bs, _, bb) = both(shop, "POST", "/api/users", body, headers)
    assert fs == bs == status
    assert without_trace(fb) == without_trace(bb)


def test_order_is_created_replayed_by_idempotency_key_and_listed(shop):
    port = shop.frontend.port
    key = uuid.uuid4().hex
    order_body = {"user_id": 2, "product_id": 3, "quantity": 1}
    status, _, order = request_json(port, "POST", "/api/orders", order_body, {"Idempotency-Key": key})
    assert status == 201, order
    assert order["user_id"] == 2 and order["items"][0]["product_id"] == 3
    status, _, again = request_json(port, "POST", "/api/orders", order_body, {"Idempotency-Key": key})
    assert status == 200 and again["id"] == order["id"]
    status, _, fetched = request_json(port, "GET", f"/api/orders/{order['id']}")
    assert status == 200 and fetched["id"] == order["id"]
    status, _, history = request_json(port, "GET", "/api/users/2/orders")
    assert status == 200 and order["id"] in [o["id"] for o in history["items"]]


@pytest.mark.parametrize("body,status", [
    ({"user_id": 1, "product_id": 97, "quantity": 1}, 409),  # product 97 is sold out in the sample data
    ({"user_id": 1, "product_id": 99999999, "quantity": 1}, 404),
    ({"user_id": 99999999, "product_id": 1, "quantity": 1}, 404),
    ({"user_id": 1, "product_id": 1, "quantity": 0}, 400),
    ({"user_id": 1, "product_id": 1, "quantity": 1001}, 400),
])
def test_order_errors_pass_through_with_the_backends_message(shop, body, status):
    got, hdrs, err = request_json(shop.frontend.port, "POST", "/api/orders", body)
    assert got == status, err
    assert hdrs["content-type"].startswith("application/json")
    assert err["error"] and re.fullmatch(r"[0-9a-f]{32}", err["trace_id"])


def test_every_reply_has_a_traceresponse_of_the_callers_trace(shop):
    trace_id, _, tp = new_traceparent()
    status, hdrs, _ = request(shop.frontend.port, "GET", "/api/products/1", headers={"traceparent": tp})
    assert status == 200
    m = TRACEPARENT_RE.match(hdrs["traceresponse"])
    assert m and m.group(1) == trace_id


# ---- one trace, browser to database -----------------------------------------------------------------

def test_trace_continues_from_caller_through_frontend_and_backend_to_the_database(shop, receiver):
    trace_id, caller_span, tp = new_traceparent()
    status, _, _ = request(shop.frontend.port, "GET", "/api/products/5", headers={"traceparent": tp})
    assert status == 200

    def complete(spans):
        return (any(s["service"] == "oteldemo-backend" and s["kind"] == SPAN_KIND_SERVER for s in spans)
                and any(s["service"] == "oteldemo-backend" and s["kind"] == SPAN_KIND_CLIENT for s in spans)
                and any(s["service"] == "oteldemo-frontend" and s["kind"] == SPAN_KIND_CLIENT for s in spans)
                and any(s["service"] == "oteldemo-frontend" and s["kind"] == SPAN_KIND_SERVER for s in spans))

    spans = wait_for_spans(receiver, trace_id, complete)
    fe_server = [s for s in spans if s["service"] == "oteldemo-frontend" and s["kind"] == SPAN_KIND_SERVER]
    fe_client = [s for s in spans if s["service"] == "oteldemo-frontend" and s["kind"] == SPAN_KIND_CLIENT]
    be_server = [s for s in spans if s["service"] == "oteldemo-backend" and s["kind"] == SPAN_KIND_SERVER]
    by_id = {s["span_id"]: s for s in spans}
    assert len(fe_server) == len(fe_client) == len(be_server) == 1
    fe_server, fe_client, be_server = fe_server[0], fe_client[0], be_server[0]

    assert fe_server["parent"] == caller_span
    assert fe_client["parent"] == fe_server["span_id"]
    assert be_server["parent"] == fe_client["span_id"]
    db_spans = [s for s in spans if s["attrs"].get("db.system.name") == "postgresql"]
    assert db_spans, "no database span in the trace"
    for s in db_spans:  # each query span descends from the backend's SERVER span
        node = s
        while node["parent"] and node["span_id"] != be_server["span_id"]:
            node = by_id[node["parent"]]
        assert node["span_id"] == be_server["span_id"]

    a = fe_client["attrs"]
    assert fe_client["name"] == "GET"
    assert a["http.request.method"] == "GET"
    assert a["url.full"] == f"{shop.backend.url}/api/products/5"
    assert a["server.address"] == "127.0.0.1"
    assert a["server.port"] == shop.backend.port
    assert a["http.response.status_code"] == 200
    assert "error.type" not in a and fe_client["status"] != STATUS_ERROR


def test_client_span_of_a_404_is_an_error_with_its_status_as_error_type(shop, receiver):
    trace_id, _, tp = new_traceparent()
    status, _, _ = request(shop.frontend.port, "GET", "/api/products/99999999", headers={"traceparent": tp})
    assert status == 404
    spans = wait_for_spans(receiver, trace_id, lambda ss: any(
        s["service"] == "oteldemo-frontend" and s["kind"] == SPAN_KIND_CLIENT for s in ss))
    client = next(s for s in spans if s["service"] == "oteldemo-frontend" and s["kind"] == SPAN_KIND_CLIENT)
    assert client["attrs"]["http.response.status_code"] == 404
    assert client["attrs"]["error.type"] == "404"
    assert client["status"] == STATUS_ERROR


def client_get_200_count(shop):
    """The frontend's http.client.request.duration count for GET answered 200 (0 before the first)."""
    status, _, body = shop.frontend.get("/metrics")
    assert status == 200
    lines = [line for line in body.decode().splitlines()
             if line.startswith("http_client_request_duration_seconds_count{") and 'http_request_method="GET"' in line
             and 'http_response_status_code="200"' in line]
    assert len(lines) <= 1, lines
    return int(float(lines[0].rsplit(" ", 1)[1])) if lines else 0


def test_client_duration_metric_is_exposed(shop):
    before = client_get_200_count(shop)
    assert request(shop.frontend.port, "GET", "/api/products/1")[0] == 200
    assert client_get_200_count(shop) == before + 1


def test_readyz_is_200_while_the_backend_is_ready(shop):
    assert shop.frontend.get("/readyz")[0] == 200
    assert shop.frontend.get("/healthz")[0] == 200


TRACEZ_SAMPLE_INTERVAL_S = 0.1 + 0.05


def tracez_json(shop, query=""):
    status, hdrs, body = shop.frontend.get(f"/debug/tracez?format=json{query}")
    assert status == 200 and hdrs["content-type"].startswith("application/json"), (status, body)
    return json.loads(body)


def tracez_ended(shop, name):
    """How many spans named name tracez has seen end (every latency bucket plus the error bucket)."""
    entry = [s for s in tracez_json(shop)["spans"] if s["name"] == name]
    assert len(entry) <= 1, entry
    return sum(entry[0]["latency"]) + entry[0]["errors"] if entry else 0


def test_tracez_lists_the_proxy_spans(shop, receiver):
    # The proxy's span is the CLIENT span named for the method (semantic conventions: no route template
    # on the client side). tracez has no kind field, so the kind is checked on the same span (by its id)
    # as the OTLP receiver decoded it.
    for _ in range(3):
        # tracez samples a latency bucket at most every 100 ms (OTEL_TRACEZ_SAMPLE_INTERVAL_NS): after
        # that pause the bucket our span lands in takes it, whatever the GET spans before it.
        time.sleep(TRACEZ_SAMPLE_INTERVAL_S)
        before = tracez_ended(shop, "GET")
        trace_id, _, tp = new_traceparent()
        status, _, _ = request(shop.frontend.port, "GET", "/api/products/1", headers={"traceparent": tp})
        assert status == 200
        assert tracez_ended(shop, "GET") == before + 1

        samples = [s for s in tracez_json(shop, "&name=GET")["samples"] if s["trace_id"] == trace_id]
        assert len(samples) == 1, samples
        sample = samples[0]
        assert sample["name"] == "GET"
        assert sample["attributes"]["url.full"] == f"{shop.backend.url}/api/products/1"
        spans = wait_for_spans(receiver, trace_id, lambda ss: any(s["span_id"] == sample["span_id"] for s in ss))
        (exported,) = [s for s in spans if s["span_id"] == sample["span_id"]]
        assert (exported["service"], exported["name"], exported["kind"]) == \
            ("oteldemo-frontend", "GET", SPAN_KIND_CLIENT)


def test_trace_view_assembles_the_spans_of_one_trace_from_both_daemons(shop):
    time.sleep(TRACEZ_SAMPLE_INTERVAL_S)  # the buckets our spans land in take them (see above)
    trace_id, _, tp = new_traceparent()
    assert request(shop.frontend.port, "GET", "/api/products/1", headers={"traceparent": tp})[0] == 200
    status, hdrs, body = shop.frontend.get(f"/debug/trace/{trace_id}")
    assert status == 200 and hdrs["cache-control"] == "no-store", body
    doc = json.loads(body)
    assert doc["trace_id"] == trace_id
    services = {s["service"]: s for s in doc["services"]}
    assert set(services) == {"frontend", "backend"}
    assert "error" not in services["backend"], services["backend"]
    for role in ("frontend", "backend"):
        assert services[role]["samples"], role
        assert {s["trace_id"] for s in services[role]["samples"]} == {trace_id}


def test_backend_tracez_is_relayed_as_the_backend_answers_it(shop):
    status, hdrs, body = shop.frontend.get("/debug/backend/tracez?name=GET%20%2Fapi%2Fproducts%2F%7Bid%7D&bucket=0")
    assert status == 200 and hdrs["cache-control"] == "no-store", body
    assert isinstance(json.loads(body), dict)
    assert shop.frontend.get("/debug/backend/tracez?bucket=9")[0] == 400


# ---- what exactly is forwarded: a fake backend --------------------------------------------------------

class FakeBackend(LocalHttpServer):
    """Records each request; answers with self.reply (status, headers, body) after self.delay_s."""

    def __init__(self):
        self.requests = []
        self.delay_s = 0
        self.reply = (200, {"Content-Type": "application/json"}, b'{"ok": true}')
        self.lock = threading.Lock()
        self.active = 0  # requests being answered now
        self.max_active = 0  # the most at once
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake.lock:
                    fake.requests.append({"method": self.command, "path": self.path,
                                          "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": body, "peer": self.client_address})
                    fake.active += 1
                    fake.max_active = max(fake.max_active, fake.active)
                time.sleep(fake.delay_s)
                with fake.lock:
                    fake.active -= 1
                status, headers, data = fake.reply
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def log_message(self, *args):
                pass

        super().__init__(Handler)


@pytest.fixture
def fake_backend():
    fb = FakeBackend()
    yield fb
    fb.close()


@pytest.fixture
def fake_shop(build_dir, fake_backend, otlp_receiver):
    wd = workdir()
    fe = Frontend(build_dir, fake_backend.url, wd, otlp_receiver, timeout_ms=1000, connect_timeout_ms=300)
    try:
        yield fe.start()
    finally:
        fe.close()
        shutil.rmtree(wd, ignore_errors=True)


def test_method_path_query_body_and_end_to_end_headers_are_forwarded(fake_shop, fake_backend):
    trace_id, caller_span, tp = new_traceparent()
    body = json.dumps({"user_id": 1, "items": [{"product_id": 2, "quantity": 3}]}).encode()
    status, _, _ = request(fake_shop.port, "PATCH", "/api/a%20b/c?x=1&y=%2F%20z&q=caf%C3%A9", body, {
        "Content-Type": "application/json", "Idempotency-Key": "k-123", "Authorization": "Bearer t0ken",
        "traceparent": tp, "tracestate": "vendor=abc", "baggage": "user.tier=gold",
        "Connection": "keep-alive, X-Hop", "X-Hop": "drop me", "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic eA==", "User-Agent": "pytest-proxy",
    })
    assert status == 200
    (got,) = fake_backend.requests
    assert got["method"] == "PATCH"
    assert got["path"] == "/api/a%20b/c?x=1&y=%2F%20z&q=caf%C3%A9"
    assert got["body"] == body
    h = got["headers"]
    assert h["content-type"] == "application/json"
    assert h["idempotency-key"] == "k-123"
    assert h["user-agent"] == "pytest-proxy"
    # The client's credentials are not the frontend's to pass on (it sends its own token, if any).
    for hop in ("x-hop", "keep-alive", "proxy-authorization", "authorization", "expect"):
        assert hop not in h, f"{hop} was forwarded"
    m = TRACEPARENT_RE.match(h["traceparent"])
    assert m and m.group(1) == trace_id and m.group(2) != caller_span  # the CLIENT span is the new parent
    assert h["tracestate"] == "vendor=abc"
    assert "user.tier=gold" in h["baggage"]


def test_the_frontends_write_token_replaces_the_clients_authorization(build_dir, fake_backend):
    wd = workdir()
    token = "frontend-token-" + uuid.uuid4().hex
    creds = credentials_dir(wd, {"write-token": token})
    fe = Frontend(build_dir, fake_backend.url, wd, None, CREDENTIALS_DIRECTORY=creds)
    try:
        fe.start()
        for method in ("POST", "GET"):
            status, _, _ = request(fe.port, method, "/api/orders", b"{}" if method == "POST" else None,
                                   {"Authorization": "Bearer client-token", "Content-Type": "application/json"})
            assert status == 200
        assert [r["headers"].get("authorization") for r in fake_backend.requests] == [f"Bearer {token}"] * 2
        assert token not in fe.daemon.log_text()
    finally:
        fe.close()
        shutil.rmtree(wd, ignore_errors=True)


def test_get_without_body_sends_no_content_type_or_form_defaults(fake_shop, fake_backend):
    status, _, _ = request(fake_shop.port, "GET", "/api/products?limit=2")
    assert status == 200
    (got,) = fake_backend.requests
    assert got["method"] == "GET" and got["path"] == "/api/products?limit=2"
    assert "content-type" not in got["headers"]


def test_reply_status_headers_and_body_pass_through_and_hop_headers_do_not(fake_shop, fake_backend):
    fake_backend.reply = (503, {"Content-Type": "application/problem+json", "Retry-After": "7",
                                "X-Backend": "yes", "Connection": "keep-alive", "traceresponse": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"},
                          b'{"error": "busy"}')
    trace_id, _, tp = new_traceparent()
    status, hdrs, body = request(fake_shop.port, "GET", "/api/x", headers={"traceparent": tp})
    assert status == 503
    assert hdrs["content-type"] == "application/problem+json"
    assert hdrs["retry-after"] == "7" and hdrs["x-backend"] == "yes"
    assert body == b'{"error": "busy"}'
    assert TRACEPARENT_RE.match(hdrs["traceresponse"]).group(1) == trace_id  # the frontend's own


def test_a_reply_many_times_the_receive_buffer_passes_through_whole(fake_shop, fake_backend):
    # proxy.c gives libcurl a 4 KiB receive buffer (PROXY_RECV_BUFFER_BYTES): a larger reply is read in
    # many pieces and must still arrive byte for byte.
    body = json.dumps({"items": [{"id": i, "name": f"product {i}" * 8} for i in range(2000)]}).encode()
    assert len(body) > 50 * 4096
    fake_backend.reply = (200, {"Content-Type": "application/json"}, body)
    status, hdrs, got = request(fake_shop.port, "GET", "/api/products")
    assert status == 200 and hdrs["content-type"] == "application/json"
    assert got == body


def test_backend_connections_are_kept_alive(fake_shop, fake_backend):
    for _ in range(20):
        assert request(fake_shop.port, "GET", "/api/products")[0] == 200
    peers = {r["peer"] for r in fake_backend.requests}
    # One after the other, each on a new client connection, which the acceptor spreads over the server
    # threads: each thread's loop hands its next exchange the connection its last one used, so there
    # are at most as many backend connections as threads (the test stack's 8).
    assert len(peers) <= 8, f"{len(peers)} connections for 20 requests"


def test_trace_view_without_the_backend_says_why_and_keeps_the_frontends_spans(fake_shop, fake_backend):
    fake_backend.reply = (500, {"Content-Type": "text/plain"}, b"no")
    trace_id, _, tp = new_traceparent()
    assert request(fake_shop.port, "GET", "/api/x", headers={"traceparent": tp})[0] == 500
    status, _, body = request(fake_shop.port, "GET", f"/debug/trace/{trace_id}")
    assert status == 200, body
    services = {s["service"]: s for s in json.loads(body)["services"]}
    assert services["backend"]["samples"] == []
    assert services["backend"]["error"] == "the backend's tracez answered HTTP 500"
    status, _, body = request(fake_shop.port, "GET", "/debug/backend/tracez")
    assert status == 502 and json.loads(body)["error"] == "the backend's tracez answered HTTP 500"


def test_requests_of_one_client_connection_reuse_one_backend_connection(fake_shop, fake_backend):
    conn = http.client.HTTPConnection("127.0.0.1", fake_shop.port, timeout=10)
    try:
        for _ in range(20):
            conn.request("GET", "/api/products")
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
    finally:
        conn.close()
    peers = {r["peer"] for r in fake_backend.requests}
    # One client connection lives on one server thread, whose loop reuses its kept-alive connection.
    assert len(peers) == 1, f"{len(peers)} connections for 20 requests"


def test_slow_backend_is_504_at_the_timeout_and_the_span_says_timeout(fake_shop, fake_backend, otlp_receiver):
    fake_backend.delay_s = 3
    trace_id, _, tp = new_traceparent()
    t0 = time.monotonic()
    status, hdrs, body = request(fake_shop.port, "GET", "/api/products", headers={"traceparent": tp})
    elapsed = time.monotonic() - t0
    assert status == 504
    assert 0.9 <= elapsed < 2.0, elapsed  # timeout_ms = 1000
    err = json.loads(body)
    assert "1000 ms" in err["error"] and err["trace_id"] == trace_id
    spans = wait_for_spans(otlp_receiver, trace_id, lambda ss: any(s["kind"] == SPAN_KIND_CLIENT for s in ss))
    client = next(s for s in spans if s["kind"] == SPAN_KIND_CLIENT)
    assert client["status"] == STATUS_ERROR and client["attrs"]["error.type"] == "timeout"
    assert "http.response.status_code" not in client["attrs"]


# ---- backend down -------------------------------------------------------------------------------------

def test_killed_backend_gives_502_fast_and_readyz_503_then_recovers(build_dir, pg_cluster, otlp_receiver):  # noqa: F811
    with running_shop(build_dir, pg_cluster, otlp_receiver, timeout_ms=2000) as shop:
        backend, frontend = shop.backend, shop.frontend
        assert frontend.get("/api/products/1")[0] == 200
        assert frontend.get("/readyz")[0] == 200

        backend.daemon.stop(signal.SIGKILL)
        trace_id, _, tp = new_traceparent()
        t0 = time.monotonic()
        status, hdrs, body = frontend.get("/api/products/1", headers={"traceparent": tp})
        elapsed = time.monotonic() - t0
        assert status == 502, body
        assert elapsed < 2.0
        err = json.loads(body)
        assert "unavailable" in err["error"] and err["trace_id"] == trace_id
        status, _, body = frontend.get("/readyz")
        assert status == 503, body
        assert frontend.get("/healthz")[0] == 200  # the frontend itself is alive
        assert frontend.get("/")[0] == 200  # and still serves the UI (which shows a friendly page)
        spans = wait_for_spans(otlp_receiver, trace_id, lambda ss: any(s["kind"] == SPAN_KIND_CLIENT for s in ss))
        client = next(s for s in spans if s["kind"] == SPAN_KIND_CLIENT)
        assert client["status"] == STATUS_ERROR
        assert client["attrs"]["error.type"] == "connection_refused"

        backend.start()  # same port: the frontend reconnects by itself
        assert frontend.get("/api/products/1")[0] == 200
        assert frontend.get("/readyz")[0] == 200


# ---- the request model: no server thread waits for the backend --------------------------------------

FEW_THREADS = 2  # server threads of the frontends below: fewer than the requests they carry at once


def concurrently(n, fn):
    """fn(i) for i in range(n), all at once, each on its own thread; the results in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, range(n)))


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not reached within {timeout}s"
        time.sleep(0.02)


def held_at_backend(pool, fe, fake_backend, n, path):
    """n GETs of path/<i> submitted to pool, returned once the backend holds every one of them."""
    futures = [pool.submit(request, fe.port, "GET", f"{path}/{i}") for i in range(n)]
    wait_until(lambda: fake_backend.active == n, what=f"{n} requests at the backend")
    return futures


@pytest.fixture
def start_frontend(build_dir, fake_backend):
    """Starts a frontend (Frontend arguments, backend_url defaults to the fake backend's) with
    FEW_THREADS server threads; stopped at the end of the test."""
    wd = workdir()
    started = []

    def start(config=None, backend_url=None, **kw):
        fe = Frontend(build_dir, backend_url or fake_backend.url, wd,
                      config=merge_sections({"server": {"threads": FEW_THREADS}}, config), **kw)
        started.append(fe)
        return fe.start()

    yield start
    for fe in started:
        fe.close()
    shutil.rmtree(wd, ignore_errors=True)


def test_slow_exchanges_in_flight_do_not_hold_the_server_threads(start_frontend, fake_backend):
    # 16 requests of 1 s each on 2 server threads: a thread per exchange would take 8 s and never have
    # more than 2 at the backend; the loop has all 16 there at once and is done in about 1 s.
    fe = start_frontend(timeout_ms=10000)
    fake_backend.delay_s = 1.0
    n = 16
    t0 = time.monotonic()
    results = concurrently(n, lambda i: request(fe.port, "GET", f"/api/slow/{i}"))
    elapsed = time.monotonic() - t0
    assert [r[0] for r in results] == [200] * n
    assert fake_backend.max_active == n
    assert elapsed < n / FEW_THREADS * fake_backend.delay_s / 2, elapsed


def test_static_files_and_healthz_answer_while_slow_exchanges_outnumber_the_threads(start_frontend,
                                                                                   fake_backend):
    fe = start_frontend(timeout_ms=10000)
    fake_backend.delay_s = 3.0
    n = 4 * FEW_THREADS
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        slow = held_at_backend(pool, fe, fake_backend, n, "/api/slow")
        t0 = time.monotonic()
        assert fe.get("/healthz")[0] == 200
        assert fe.get("/app.js")[0] == 200
        elapsed = time.monotonic() - t0
        assert not any(f.done() for f in slow)  # still waiting for the backend meanwhile
        assert [f.result()[0] for f in slow] == [200] * n
    assert elapsed < fake_backend.delay_s / 2, elapsed


def test_backend_connections_are_capped_by_max_connections_and_reused(start_frontend, fake_backend):
    # One server thread: the cap is split over the threads (each thread's loop has its own share).
    fe = start_frontend({"server": {"threads": 1}, "backend": {"max_connections": 3}})
    fake_backend.delay_s = 0.3
    results = concurrently(9, lambda i: request(fe.port, "GET", f"/api/x/{i}"))
    assert [r[0] for r in results] == [200] * 9
    assert fake_backend.max_active == 3  # the other six waited for a connection
    assert len({r["peer"] for r in fake_backend.requests}) == 3


def test_exchanges_beyond_max_in_flight_are_503_at_once_and_never_reach_the_backend(start_frontend,
                                                                                   fake_backend):
    fe = start_frontend({"backend": {"max_in_flight": 3}}, timeout_ms=10000)
    fake_backend.delay_s = 3.0
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        held = held_at_backend(pool, fe, fake_backend, 3, "/api/held")
        trace_id, _, tp = new_traceparent()
        t0 = time.monotonic()
        status, hdrs, body = request(fe.port, "GET", "/api/one-too-many", headers={"traceparent": tp})
        elapsed = time.monotonic() - t0
        assert status == 503, body
        assert elapsed < fake_backend.delay_s / 2, elapsed
        assert hdrs["retry-after"] == "1" and hdrs["content-type"].startswith("application/json")
        err = json.loads(body)
        assert err["error"] == "3 backend requests in flight, the most allowed; try again"
        assert err["trace_id"] == trace_id
        assert [f.result()[0] for f in held] == [200] * 3
    assert len(fake_backend.requests) == 3
    fake_backend.delay_s = 0
    assert request(fe.port, "GET", "/api/after")[0] == 200  # the slots were given back


def test_concurrent_slow_exchanges_each_time_out_after_timeout_ms(start_frontend, fake_backend):
    fe = start_frontend(timeout_ms=1000)
    fake_backend.delay_s = 5.0
    n = 6 * FEW_THREADS  # one after the other on the threads: 6 s
    t0 = time.monotonic()
    results = concurrently(n, lambda i: request(fe.port, "GET", f"/api/slow/{i}"))
    elapsed = time.monotonic() - t0
    assert [r[0] for r in results] == [504] * n
    assert all("1000 ms" in json.loads(r[2])["error"] for r in results)
    assert 0.9 <= elapsed < 3.5, elapsed


def test_backend_down_is_502_for_every_concurrent_exchange(start_frontend):
    fe = start_frontend(backend_url=f"http://127.0.0.1:{free_port()}")
    results = concurrently(10, lambda i: request(fe.port, "GET", f"/api/x/{i}"))
    assert [r[0] for r in results] == [502] * 10
    for _, hdrs, body in results:
        err = json.loads(body)
        assert "unavailable" in err["error"] and re.fullmatch(r"[0-9a-f]{32}", err["trace_id"])
        assert TRACEPARENT_RE.match(hdrs["traceresponse"]).group(1) == err["trace_id"]


def test_sigterm_drains_every_exchange_in_flight_then_exits_0(start_frontend, fake_backend):
    fe = start_frontend(timeout_ms=10000)
    fake_backend.delay_s = 1.0
    n = 4 * FEW_THREADS
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(request, fe.port, "POST", f"/api/orders/{i}", {"i": i}) for i in range(n)]
        wait_until(lambda: len(fake_backend.requests) == n, what=f"{n} requests at the backend")
        assert fe.daemon.stop(signal.SIGTERM) == 0
        assert [f.result()[0] for f in futures] == [200] * n
    assert "STOPPING=1" in fe.daemon.drain_notify()
    assert "cutting them off" not in fe.daemon.log_text()


def test_sigterm_past_the_drain_timeout_answers_503_and_exits_0(start_frontend, fake_backend):
    fe = start_frontend({"server": {"drain_timeout_ms": 300}}, timeout_ms=10000)
    fake_backend.delay_s = 5.0
    n = 2 * FEW_THREADS
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        futures = held_at_backend(pool, fe, fake_backend, n, "/api/stuck")
        t0 = time.monotonic()
        assert fe.daemon.stop(signal.SIGTERM) == 0  # (under ASan: and nothing leaked)
        elapsed = time.monotonic() - t0
        results = [f.result() for f in futures]
    assert elapsed < fake_backend.delay_s / 2, elapsed
    for status, _, body in results:
        assert status == 503 and json.loads(body)["error"] == "the frontend is shutting down"
    assert "cutting them off" in fe.daemon.log_text()


# ---- process behaviour ----------------------------------------------------------------------------------

def test_check_config_accepts_the_shipped_config(build_dir, tmp_path):
    cfg = tmp_path / "frontend.conf"
    shipped = (WWW_DIR.parent / "etc/frontend.conf").read_text()
    cfg.write_text(shipped.replace("/usr/share/oteldemo/www", str(WWW_DIR)))
    out = subprocess.run([str(build_dir / "src/frontend/oteldemo-frontend"), "--config", str(cfg), "--check-config"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    assert out.returncode == 0, out.stdout


@pytest.mark.parametrize("sections,key", [
    ({"backend": {"url": "ftp://127.0.0.1:8081"}}, "url"),
    ({"backend": {"timeout_ms": "0"}}, "timeout_ms"),
    ({"ui": {"jaeger_url": "javascript:alert(1)"}}, "jaeger_url"),
    ({"server": {"listen": "nonsense"}}, "listen"),
    ({"backend": {"no_such_key": "1"}}, "no_such_key"),
    ({"backend": {"max_in_flight": "0"}}, "max_in_flight"),
    ({"backend": {"max_connections": "100000"}}, "max_connections"),
])
def test_bad_config_exits_78_naming_file_and_key(build_dir, tmp_path, sections, key):
    # A www_dir that exists: --check-config checks it as start-up does, and the key under test must be the one named.
    cfg = write_config(tmp_path / "frontend.conf", {**sections, "server": {"www_dir": str(WWW_DIR),
                                                                           **sections.get("server", {})}})
    out = subprocess.run([str(build_dir / "src/frontend/oteldemo-frontend"), "--config", str(cfg), "--check-config"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    assert out.returncode == CONFIG_EXIT_INVALID
    assert str(cfg) in out.stdout and key in out.stdout


def test_sigterm_with_a_request_in_flight_completes_it_and_exits_0(build_dir, fake_backend):
    wd = workdir()
    fe = Frontend(build_dir, fake_backend.url, wd, timeout_ms=5000).start()
    try:
        fake_backend.delay_s = 1
        result = {}
        t = threading.Thread(target=lambda: result.update(r=request(fe.port, "GET", "/api/slow")))
        t.start()
        deadline = time.monotonic() + 5
        while not fake_backend.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fake_backend.requests, "the request never reached the backend"
        assert fe.daemon.stop(signal.SIGTERM) == 0
        t.join(10)
        assert result["r"][0] == 200
        assert "STOPPING=1" in fe.daemon.drain_notify()
    finally:
        fe.close()
        shutil.rmtree(wd, ignore_errors=True)


def test_server_threads_default_to_one_per_cpu_and_at_least_two(build_dir, fake_backend):
    wd = workdir()
    fe = Frontend(build_dir, fake_backend.url, wd)
    try:
        write_config(fe.config, {"server": {"listen": f"127.0.0.1:{fe.port}", "www_dir": WWW_DIR},
                                 "backend": {"url": fake_backend.url}})
        fe.start()
        fe.daemon.wait_for_log(f"({max(2, os.cpu_count())} threads)")
    finally:
        fe.close()
        shutil.rmtree(wd, ignore_errors=True)


def test_version_and_help(build_dir):
    binary = str(build_dir / "src/frontend/oteldemo-frontend")
    out = subprocess.run([binary, "--version"], stdout=subprocess.PIPE, text=True, timeout=10)
    assert out.returncode == 0 and out.stdout.startswith("oteldemo-frontend ")
    out = subprocess.run([binary, "--help"], stdout=subprocess.PIPE, text=True, timeout=10)
    assert out.returncode == 0
    for word in ("--config", "--check-config", "www_dir", "timeout_ms", "jaeger_url", "max_in_flight",
                 "max_connections"):
        assert word in out.stdout


def test_port_in_use_fails_with_a_clear_message(build_dir, fake_backend, tmp_path):
    wd = tmp_path
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        cfg = write_config(wd / "frontend.conf", {"server": {"listen": f"127.0.0.1:{port}", "www_dir": WWW_DIR},
                                                  "backend": {"url": fake_backend.url}})
        out = subprocess.run([str(build_dir / "src/frontend/oteldemo-frontend"), "--config", str(cfg)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30,
                             env=clean_env({"OTEL_TRACES_EXPORTER": "none"}))
    assert out.returncode != 0
    assert str(port) in out.stdout
