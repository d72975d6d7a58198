# Hostile HTTP against both daemons on raw sockets (issue 15): oversized headers and bodies, invalid
# JSON, deep nesting, invalid UTF-8, negative and huge numbers, SQL injection, path traversal (raw and
# encoded), NUL bytes, bad traceparent / tracestate / baggage, and request smuggling (Content-Length
# with Transfer-Encoding, duplicate Content-Length, obs-fold, bad chunking). Each gets one answer:
# a 4xx, or for input the API may accept (a search, a header it ignores) a normal answer; never a 5xx,
# never a second request read from the leftovers of a smuggled one. The daemon stays up, and the
# shop's tables are byte for byte what they were (md5 of every table, ordered, before and after).
import json
import re

import pytest

from faultkit import healthy, raw_http, table_checksum

FOUR_XX = set(range(400, 500))
OK_OR_4XX = FOUR_XX | {200}
BIG_HEADER = "a" * (256 * 1024)
HUGE_BODY_LEN = 64 * 1024 * 1024


def http(method, path, headers=(), body=b"", length=True):
    """A raw HTTP/1.1 request; headers as (name, value) pairs or raw header lines (str)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    for h in headers:
        lines.append(h if isinstance(h, str) else f"{h[0]}: {h[1]}")
    if body and length:
        lines.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(lines).encode("latin-1", "surrogateescape") + b"\r\n\r\n"
    return head + (body if isinstance(body, bytes) else body.encode("utf-8", "surrogateescape"))


def order_post(body, extra=()):
    data = body if isinstance(body, bytes) else body.encode()
    return http("POST", "/api/orders", [("Content-Type", "application/json"), ("Idempotency-Key", "adv-1"), *extra],
                data)


def user_post(body):
    data = body if isinstance(body, bytes) else body.encode()
    return http("POST", "/api/users", [("Content-Type", "application/json")], data)


SMUGGLED = b"POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 46\r\n\r\n" \
           b'{"name":"Smuggled","email":"smuggled@x.test"}\n'

# (name, raw request, allowed statuses). Every write here must be refused: the checksum proves it.
CASES = [
    ("oversized header", http("GET", "/api/products", [("X-Big", BIG_HEADER)]), FOUR_XX),
    ("many headers", http("GET", "/api/products", [(f"X-H{i}", "v" * 100) for i in range(2000)]), FOUR_XX),
    ("oversized body (declared)", http("POST", "/api/orders", [("Content-Type", "application/json"),
                                                            f"Content-Length: {HUGE_BODY_LEN}"], b"{" * 4096,
                                       length=False), FOUR_XX),
    ("oversized body (sent)", order_post(b'{"user_id":1,"items":[' + b'{"product_id":1,"quantity":1},' * 40000
                                         + b'{"product_id":1,"quantity":1}]}'), FOUR_XX),
    ("invalid JSON", order_post('{"user_id": 1, "items": [ {"product_id": 1, "quantity": 1 ]'), FOUR_XX),
    ("not an object", order_post('[1, 2, 3]'), FOUR_XX),
    ("deep nesting", order_post("[" * 100000 + "]" * 100000), FOUR_XX),
    ("deep nesting in a field", order_post('{"user_id":1,"items":' + "[" * 5000 + "]" * 5000 + "}"), FOUR_XX),
    ("invalid UTF-8", user_post(b'{"name":"\xff\xfe\xc3\x28","email":"utf8@x.test"}'), FOUR_XX),
    ("overlong UTF-8 NUL", user_post(b'{"name":"a\xc0\x80b","email":"nul@x.test"}'), FOUR_XX),
    ("escaped NUL in JSON", user_post('{"name":"a\\u0000b","email":"nul2@x.test"}'), FOUR_XX),
    ("negative quantity", order_post('{"user_id":1,"items":[{"product_id":1,"quantity":-5}]}'), FOUR_XX),
    ("zero quantity", order_post('{"user_id":1,"items":[{"product_id":1,"quantity":0}]}'), FOUR_XX),
    ("huge quantity", order_post('{"user_id":1,"items":[{"product_id":1,"quantity":99999999999999999999}]}'),
     FOUR_XX),
    ("float quantity", order_post('{"user_id":1,"items":[{"product_id":1,"quantity":1e309}]}'), FOUR_XX),
    ("negative user", order_post('{"user_id":-1,"items":[{"product_id":1,"quantity":1}]}'), FOUR_XX),
    ("huge product id", order_post('{"user_id":1,"items":[{"product_id":9223372036854775808,"quantity":1}]}'),
     FOUR_XX),
    ("string where a number goes", order_post('{"user_id":"1 OR 1=1","items":[{"product_id":1,"quantity":1}]}'),
     FOUR_XX),
    ("SQL injection in a JSON string", user_post('{"name":"x\'); DROP TABLE users;--","email":"not-an-email"}'),
     FOUR_XX),
    ("SQL injection in a search", http("GET", "/api/products?q=%27%3B%20DROP%20TABLE%20products%3B--"), OK_OR_4XX),
    ("SQL injection in a search, raw", http("GET", "/api/products?q=';DROP TABLE products;--"), OK_OR_4XX),
    ("SQL injection in an id", http("GET", "/api/users/1%20OR%201=1"), FOUR_XX),
    ("SQL injection in limit", http("GET", "/api/products?limit=1;DELETE%20FROM%20products"), FOUR_XX),
    ("negative offset", http("GET", "/api/products?offset=-1"), FOUR_XX),
    ("huge limit", http("GET", "/api/products?limit=99999999999999999999"), FOUR_XX),
    ("huge id", http("GET", "/api/products/99999999999999999999999"), FOUR_XX),
    ("traversal raw", http("GET", "/../../../../etc/passwd"), FOUR_XX),
    ("traversal encoded", http("GET", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd"), FOUR_XX),
    ("traversal encoded slash", http("GET", "/..%2f..%2f..%2fetc%2fpasswd"), FOUR_XX),
    ("traversal double-encoded", http("GET", "/%252e%252e/%252e%252e/etc/passwd"), FOUR_XX),
    ("traversal backslash", http("GET", "/..\\..\\..\\etc\\passwd"), FOUR_XX),
    ("NUL encoded in the path", http("GET", "/index.html%00.png"), FOUR_XX),
    ("NUL in a header", http("GET", "/api/products", ["X-Nul: a\x00b"]), OK_OR_4XX),
    ("control byte in the path", http("GET", "/api/products\x01"), FOUR_XX),
    ("bad traceparent", http("GET", "/api/products/1", [("traceparent", "00-zzzz-00f067aa0ba902b7-01")]), {200}),
    ("all-zero traceparent", http("GET", "/api/products/1",
                                  [("traceparent", "00-" + "0" * 32 + "-" + "0" * 16 + "-01")]), {200}),
    ("huge tracestate", http("GET", "/api/products/1", [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-"
                                                        "00f067aa0ba902b7-01"), ("tracestate", "k=v," * 2000)]),
     OK_OR_4XX),
    ("bad baggage", http("GET", "/api/products/1", [("baggage", "=;=;%ZZ;\xff=\xfe," * 200)]), OK_OR_4XX),
    ("CL and TE both, smuggled write", http("POST", "/api/orders", [
        ("Content-Type", "application/json"), "Content-Length: 5", "Transfer-Encoding: chunked"],
        b"0\r\n\r\n" + SMUGGLED, length=False), FOUR_XX),
    ("TE then CL", http("POST", "/api/users", ["Transfer-Encoding: chunked", "Content-Length: 200"],
                        b"0\r\n\r\n" + SMUGGLED, length=False), FOUR_XX),
    ("duplicate Content-Length", http("POST", "/api/users", [("Content-Type", "application/json"),
                                      "Content-Length: 2", "Content-Length: 46"], b"{}" + SMUGGLED[:44],
                                      length=False), FOUR_XX),
    ("Content-Length list", http("POST", "/api/users", ["Content-Length: 2, 2"], b"{}" + SMUGGLED, length=False),
     FOUR_XX),
    ("negative Content-Length", http("POST", "/api/users", ["Content-Length: -1"], b"{}" + SMUGGLED, length=False),
     FOUR_XX),
    ("obfuscated TE", http("POST", "/api/users", ["Transfer-Encoding: xchunked", "Content-Length: 2"],
                           b"{}" + SMUGGLED, length=False), FOUR_XX | {501, None}),
    ("TE with space before colon", http("POST", "/api/users", ["Transfer-Encoding : chunked", "Content-Length: 2"],
                                        b"{}", length=False), FOUR_XX),
    ("bad chunk size", http("POST", "/api/users", [("Content-Type", "application/json"), "Transfer-Encoding: chunked"],
                            b"zz\r\n{}\r\n0\r\n\r\n", length=False), FOUR_XX),
    ("obs-fold", http("GET", "/api/products", ["X-Folded: a", " b"]), OK_OR_4XX),
    ("obs-fold of Content-Length", http("POST", "/api/users", [("Content-Type", "application/json"),
                                        "Content-Length:", " 2"], b"{}", length=False), FOUR_XX),
    ("bad method", http("FOO", "/api/products"), FOUR_XX | {501}),
    ("bad version", b"GET /api/products HTTP/9.9\r\nHost: x\r\n\r\n", FOUR_XX | {505}),
    ("bare LF", b"GET /api/products HTTP/1.1\nHost: x\nConnection: close\n\n", OK_OR_4XX),
]


# Known defects of libmicrohttpd 0.9.75 (Debian 12), asserted as they are so that a change shows:
# an invalid Content-Length gets its 400's status line and headers written twice (one body), and an
# unknown Transfer-Encoding closes the connection without an answer. Neither reads the smuggled
# request that follows (the checksum proves it).
DOUBLE_HEAD = {"Content-Length list", "negative Content-Length"}
NO_ANSWER = {"obfuscated TE"}


def answers_expected(name):
    return 2 if name in DOUBLE_HEAD else 0 if name in NO_ANSWER else 1


@pytest.fixture(scope="module")
def daemons(build_dir, pg_cluster):
    import faultkit
    with faultkit.running_shop(build_dir, pg_cluster) as s:
        yield s


def answer_count(data):
    return len(re.findall(rb"(?:^|\r\n)HTTP/1\.[01] \d{3} ", data))


@pytest.mark.parametrize("daemon", ["backend", "frontend"])
def test_hostile_requests_get_one_4xx_and_change_nothing(daemons, daemon):
    port = getattr(daemons, daemon).port
    before = table_checksum(daemons.db)
    failures = []
    for name, raw, allowed in CASES:
        status, data = raw_http(port, raw)
        if status not in allowed or answer_count(data) != answers_expected(name) or b"root:" in data:
            failures.append((name, status, answer_count(data), data[:200]))
        if status is not None and status >= 400 and b"content-type: application/json" in data.lower():
            body = data.split(b"\r\n\r\n", 1)[-1]
            try:
                assert "error" in json.loads(body)
            except (ValueError, AssertionError):
                failures.append((name, status, "JSON error body", body[:200]))
        if not healthy(port):
            failures.append((name, "daemon no longer healthy"))
            break
    assert getattr(daemons, daemon).daemon.proc.poll() is None
    assert table_checksum(daemons.db) == before
    assert not failures, "\n".join(map(repr, failures))
