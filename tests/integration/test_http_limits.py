# Request limits that a client can read: an oversized body (413) or oversized headers (431) is answered
# with the JSON error after the server has read (and dropped) what the client sends, up to a bound, so
# that a client writing its whole request never meets a closed connection (broken pipe) instead of
# the answer. Real clients: http.client writes the whole request before it reads; raw sockets for the
# Expect: 100-continue and over-the-bound cases.
import http.client
import json
import socket
import time

import pytest

from pg import pg_cluster  # noqa: F401  (pytest fixture)
from shop_stack import running_shop

MAX_BODY = 1024 * 1024  # the daemons' default max_body_bytes
MAX_HEADERS = 16 * 1024  # the daemons' default max_header_bytes
DRAIN_MAX = 8 * 1024 * 1024  # HTTP_DRAIN_MAX_BYTES in src/common/http-server.c
TWO_MB = 2 * 1000 * 1000
EARLY_REPLY_MAX_S = 2.0  # a refusal that needs no body arrives at once, not after a timeout
ROUNDS = 5  # the broken pipe was a race: several tries make a regression show


@pytest.fixture(scope="module")
def shop(build_dir, pg_cluster):  # noqa: F811
    with running_shop(build_dir, pg_cluster, None) as s:
        yield s


def send_whole(port, method, path, body, headers):
    """Writes the whole request (http.client sends all of body before reading), then reads the reply.

    Returns (status, lowercased headers, body bytes); a broken pipe or reset fails the test."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def assert_json_error(status, headers, body, expected):
    assert status == expected, (status, body[:200])
    assert headers["content-type"].startswith("application/json")
    doc = json.loads(body)
    assert set(doc) == {"error", "trace_id"} and doc["error"]
    assert doc["trace_id"] == headers["traceresponse"].split("-")[1]
    return doc


def raw_exchange(port, head):
    """Sends only a request head over a socket and returns (first reply bytes, seconds it took)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        t0 = time.monotonic()
        s.sendall(head)
        data = s.recv(65536)
        return data, time.monotonic() - t0


@pytest.mark.parametrize("daemon", ["backend", "frontend"])
def test_2mb_order_body_gets_a_readable_413(shop, daemon):
    port = getattr(shop, daemon).port
    body = json.dumps({"user_id": 1, "items": [{"product_id": 1, "quantity": 1}], "pad": "x" * TWO_MB}).encode()
    for _ in range(ROUNDS):
        doc = assert_json_error(*send_whole(port, "POST", "/api/orders", body,
                                            {"Content-Type": "application/json"}), 413)
        assert doc["error"] == f"request body larger than {MAX_BODY} bytes"


def test_body_just_under_the_drain_bound_still_gets_the_413(shop):
    body = b"x" * (DRAIN_MAX - 1024)
    assert_json_error(*send_whole(shop.backend.port, "POST", "/api/orders", body,
                                  {"Content-Type": "application/json"}), 413)


def test_413_leaves_the_connection_usable_after_the_drained_body(shop):
    conn = http.client.HTTPConnection("127.0.0.1", shop.backend.port, timeout=30)
    try:
        conn.request("POST", "/api/orders", body=b"x" * TWO_MB, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 413
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read()) == {"status": "ok"}
    finally:
        conn.close()


def test_expect_100_continue_gets_the_413_without_sending_the_body(shop):
    head = (b"POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % TWO_MB)
    data, took = raw_exchange(shop.backend.port, head)
    assert data.startswith(b"HTTP/1.1 413 "), data[:80]
    assert b"100 Continue" not in data
    assert took < EARLY_REPLY_MAX_S


def test_body_declared_over_the_drain_bound_is_refused_at_once(shop):
    head = (b"POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (64 * DRAIN_MAX))
    data, took = raw_exchange(shop.backend.port, head)
    assert data.startswith(b"HTTP/1.1 413 "), data[:80]
    assert b'"error":"request body larger than' in data
    assert took < EARLY_REPLY_MAX_S


@pytest.mark.parametrize("daemon", ["backend", "frontend"])
def test_oversized_headers_get_the_json_431(shop, daemon):
    port = getattr(shop, daemon).port
    status, headers, body = send_whole(port, "GET", "/healthz", None, {"X-Big": "a" * (MAX_HEADERS + 8000)})
    doc = assert_json_error(status, headers, body, 431)
    assert doc["error"] == f"request headers larger than {MAX_HEADERS} bytes"


def test_oversized_headers_with_a_body_get_the_431_after_the_body(shop):
    body = json.dumps({"user_id": 1, "items": [{"product_id": 1, "quantity": 1}]}).encode() * 2000
    assert_json_error(*send_whole(shop.backend.port, "POST", "/api/orders", body,
                                  {"Content-Type": "application/json", "X-Big": "a" * (MAX_HEADERS + 8000)}),
                      431)


def test_headers_within_the_limit_are_served(shop):
    status, _, body = send_whole(shop.backend.port, "GET", "/healthz", None, {"X-Big": "a" * (MAX_HEADERS // 2)})
    assert status == 200 and json.loads(body) == {"status": "ok"}
