# Tokens for writes (issue 15): POST /api/users and /api/orders need the backend's write token once one
# is configured (401 without credentials, 403 with a wrong token, RFC 6750 WWW-Authenticate); the
# frontend sends its own copy of that token on what it forwards (never the client's Authorization)
# and may require a client token of its own; the CLI takes it from --write-token-file. Secrets never
# come from a config file others can read, and never reach exported spans, logs or access logs.
import contextlib
import json
import os
import shutil
import subprocess
import uuid

import pytest

from pg import pg_cluster  # noqa: F401  (pytest fixture)
from shop_stack import (Backend, Frontend, credentials_dir, decoded_spans, request, request_json, wait_for_spans,
                        workdir, write_config)

WRITE_TOKEN = "write-" + uuid.uuid4().hex  # unique, so that a grep for it cannot match anything else
CLIENT_TOKEN = "client-" + uuid.uuid4().hex
ADMIN_TOKEN = "admin-" + uuid.uuid4().hex
COOKIE_SECRET = "cookie-" + uuid.uuid4().hex
QUERY_SECRET = "sig-" + uuid.uuid4().hex
SECRETS = (WRITE_TOKEN, CLIENT_TOKEN, ADMIN_TOKEN, COOKIE_SECRET, QUERY_SECRET)
EXIT_CONFIG = 78
CLI_TIMEOUT_S = 60
LOGS_ENV = {"OTEL_LOGS_EXPORTER": "otlp", "OTEL_BLRP_SCHEDULE_DELAY": "100"}


@pytest.fixture
def wd():
    """A work directory of the test's own, removed after it."""
    d = workdir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def shop_backend(build_dir, shop, wd, **kwargs):
    """A backend of its own on the shop's database, closed after the block."""
    backend = Backend(build_dir, shop.backend.sections["database"]["conninfo"], wd, **kwargs)
    try:
        yield backend
    finally:
        backend.close()


def secret_file(directory, name, value, mode=0o600):
    path = directory / name
    path.touch(mode=0o600)
    path.write_text(value + "\n")
    path.chmod(mode)
    return path


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def new_user():
    return {"name": "Auth Test", "email": f"auth-{uuid.uuid4().hex[:12]}@example.com"}


ORDER = {"user_id": 1, "product_id": 2, "quantity": 1}


class AuthShop:
    """A backend whose write token (and admin token) are systemd credentials, and two frontends: one
    with the same write-token credential, one without any (whose writes the backend turns away)."""

    def __init__(self, build_dir, db, receiver):
        self.dir = workdir()
        self.creds = credentials_dir(self.dir, {"write-token": WRITE_TOKEN, "admin-token": ADMIN_TOKEN})
        self.backend = Backend(build_dir, db, self.dir, receiver, CREDENTIALS_DIRECTORY=self.creds, **LOGS_ENV)
        self.frontend = Frontend(build_dir, self.backend.url, self.dir, receiver,
                                 CREDENTIALS_DIRECTORY=self.creds, **LOGS_ENV)
        (self.dir / "bare").mkdir()
        self.bare = Frontend(build_dir, self.backend.url, self.dir / "bare", receiver)
        self.daemons = [self.backend, self.frontend, self.bare]

    def start(self):
        self.backend.migrate()
        self.backend.start()
        self.frontend.start()
        self.bare.start()
        return self

    def logs(self):
        return "".join(d.daemon.log_text() for d in self.daemons if d.daemon)

    def close(self):
        for d in reversed(self.daemons):
            d.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def shop(build_dir, pg_cluster, receiver):  # noqa: F811
    s = AuthShop(build_dir, pg_cluster.create_database(), receiver)
    try:
        yield s.start()
    finally:
        s.close()


def assert_json_error(status, headers, body, expected):
    assert status == expected, (status, body)
    assert headers["content-type"].startswith("application/json")
    assert set(body) == {"error", "trace_id"} and body["error"] and len(body["trace_id"]) == 32


def assert_unauthorized(reply, realm):
    status, headers, body = reply
    assert_json_error(status, headers, body, 401)
    assert headers["www-authenticate"] == f'Bearer realm="{realm}"'


# ---- the backend --------------------------------------------------------------------------------

@pytest.mark.parametrize("path,body", [("/api/users", None), ("/api/orders", ORDER)])
def test_backend_write_without_credentials_is_401(shop, path, body):
    assert_unauthorized(shop.backend.req("POST", path, body or new_user()), "oteldemo")
    # Not "Bearer" at all, or nothing after it: still missing credentials.
    assert_unauthorized(shop.backend.req("POST", path, body or new_user(), {"Authorization": "Basic eDp5"}),
                        "oteldemo")
    assert_unauthorized(shop.backend.req("POST", path, body or new_user(), {"Authorization": "Bearer "}),
                        "oteldemo")


@pytest.mark.parametrize("path,body", [("/api/users", None), ("/api/orders", ORDER)])
def test_backend_write_with_a_wrong_token_is_403(shop, path, body):
    for wrong in (WRITE_TOKEN[:-1], WRITE_TOKEN + "x", ADMIN_TOKEN):
        status, headers, reply = shop.backend.req("POST", path, body or new_user(), bearer(wrong))
        assert_json_error(status, headers, reply, 403)
        assert "www-authenticate" not in headers


def test_backend_write_with_the_token_succeeds(shop):
    status, headers, user = shop.backend.req("POST", "/api/users", new_user(), bearer(WRITE_TOKEN))
    assert status == 201, user
    assert headers["location"] == f"/api/users/{user['id']}"
    # The scheme is case-insensitive (RFC 6750 2.1 by way of RFC 9110 11.1).
    status, _, order = shop.backend.req("POST", "/api/orders", dict(ORDER, user_id=user["id"]),
                                        {"Authorization": f"bearer {WRITE_TOKEN}"})
    assert status == 201, order


def test_backend_reads_need_no_token(shop):
    assert shop.backend.req("GET", "/api/products?limit=2")[0] == 200
    assert shop.backend.req("GET", "/api/users/1")[0] == 200


def test_backend_token_is_checked_before_the_body(shop):
    status, headers, body = request_json(shop.backend.port, "POST", "/api/users", b"{not json",
                                         {"Content-Type": "application/json"})
    assert_unauthorized((status, headers, body), "oteldemo")


def test_admin_token_does_not_open_the_writes_nor_the_write_token_admin(shop):
    assert shop.backend.req("POST", "/api/users", new_user(), bearer(ADMIN_TOKEN))[0] == 403
    assert shop.backend.req("GET", "/admin/faults", headers=bearer(WRITE_TOKEN))[0] == 403
    assert_unauthorized(shop.backend.req("GET", "/admin/faults"), "oteldemo-admin")
    assert shop.backend.req("GET", "/admin/faults", headers=bearer(ADMIN_TOKEN))[0] == 200


# ---- through the frontend -------------------------------------------------------------------------

def test_frontend_forwards_its_own_token_so_the_shop_can_order(shop):
    # The browser sends no credentials; the frontend's credential opens the backend's writes.
    status, _, user = request_json(shop.frontend.port, "POST", "/api/users", new_user())
    assert status == 201, user
    status, _, order = request_json(shop.frontend.port, "POST", "/api/orders", dict(ORDER, user_id=user["id"]))
    assert status == 201, order


def test_frontend_replaces_the_clients_authorization(shop):
    # A client's own header is not passed on: a wrong one does not break the write, a right one
    # given to a frontend without a token does not open it.
    status, _, user = request_json(shop.frontend.port, "POST", "/api/users", new_user(), bearer("nonsense"))
    assert status == 201, user
    status, headers, body = request_json(shop.bare.port, "POST", "/api/users", new_user(), bearer(WRITE_TOKEN))
    assert_unauthorized((status, headers, body), "oteldemo")


def test_frontend_without_a_token_gets_the_backends_401(shop):
    assert_unauthorized(request_json(shop.bare.port, "POST", "/api/orders", ORDER), "oteldemo")
    assert request_json(shop.bare.port, "GET", "/api/products?limit=1")[0] == 200


def test_frontend_client_token_guards_its_writes(build_dir, shop, wd):
    token_file = secret_file(wd, "client-token", CLIENT_TOKEN)
    fe = Frontend(build_dir, shop.backend.url, wd, None, CREDENTIALS_DIRECTORY=shop.creds,
                  config={"auth": {"client_token_file": token_file}})
    try:
        fe.start()
        assert_unauthorized(request_json(fe.port, "POST", "/api/users", new_user()), "oteldemo-shop")
        status, headers, body = request_json(fe.port, "POST", "/api/users", new_user(), bearer(WRITE_TOKEN))
        assert_json_error(status, headers, body, 403)
        status, _, user = request_json(fe.port, "POST", "/api/users", new_user(), bearer(CLIENT_TOKEN))
        assert status == 201, user
        status, _, order = request_json(fe.port, "POST", "/api/orders", dict(ORDER, user_id=user["id"]),
                                        bearer(CLIENT_TOKEN))
        assert status == 201, order
        assert request_json(fe.port, "GET", "/api/products?limit=1")[0] == 200
    finally:
        fe.close()


# ---- the CLI ------------------------------------------------------------------------------------

def run_cli(build_dir, url, *args, env=None):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OTELDEMO_"))}
    full.update({"OTEL_TRACES_EXPORTER": "none", **(env or {})})
    return subprocess.run([str(build_dir / "src/cli/oteldemo"), "--url", url, *map(str, args)], env=full,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=CLI_TIMEOUT_S)


def test_cli_write_token_file_opens_the_backends_writes(build_dir, shop):
    token = shop.creds / "write-token"
    u = new_user()
    out = run_cli(build_dir, shop.backend.url, "users", "create", "--name", u["name"], "--email", u["email"])
    assert out.returncode == 1 and "HTTP 401" in out.stderr, out.stderr
    out = run_cli(build_dir, shop.backend.url, "--write-token-file", token, "--output", "json", "users", "create",
                  "--name", u["name"], "--email", u["email"])
    assert out.returncode == 0, out.stderr
    user = json.loads(out.stdout)
    out = run_cli(build_dir, shop.backend.url, "orders", "create", "--user", user["id"], "--product", 2,
                  "--quantity", 1, env={"OTELDEMO_WRITE_TOKEN_FILE": str(token)})
    assert out.returncode == 0, out.stderr


def test_cli_refuses_a_token_file_others_can_read(build_dir, shop, wd):
    loose = secret_file(wd, "write-token", WRITE_TOKEN, mode=0o644)
    out = run_cli(build_dir, shop.backend.url, "--write-token-file", loose, "users", "list")
    assert out.returncode == 2
    assert out.stderr.strip() == f"oteldemo: token file {loose} may be read by others (chmod 600 it)"


def test_cli_load_sends_the_write_token(build_dir, shop):
    token = shop.creds / "write-token"
    load = ("--output", "json", "load", "--rate", "20", "--duration", "2", "--mix", "browse=20,order=40,user=40",
            "--seed", "3")
    ok = run_cli(build_dir, shop.backend.url, "--write-token-file", token, *load)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["errors"] == 0, ok.stdout
    refused = run_cli(build_dir, shop.backend.url, *load)
    assert json.loads(refused.stdout)["errors"] > 0, refused.stdout


# ---- where secrets may come from ----------------------------------------------------------------

INLINE_SECRETS = [
    ("backend", {"auth": {"write_token": WRITE_TOKEN}}, "[auth] write_token"),
    ("backend", {"admin": {"token": ADMIN_TOKEN}}, "[admin] token"),
    ("backend", {"database": {"conninfo": "dbname=oteldemo password=hunter2hunter2"}}, "[database] conninfo"),
    ("backend", {"database": {"conninfo": "postgresql://u:hunter2@127.0.0.1/oteldemo"}}, "[database] conninfo"),
    ("frontend", {"backend": {"token": WRITE_TOKEN}}, "[backend] token"),
    ("frontend", {"auth": {"client_token": CLIENT_TOKEN}}, "[auth] client_token"),
]


@pytest.mark.parametrize("daemon,sections,key", INLINE_SECRETS)
def test_inline_secret_in_a_config_others_can_read_is_refused(build_dir, daemon, sections, key, wd):
    base = {"server": {"www_dir": str(wd)}} if daemon == "frontend" else {}
    config = write_config(wd / f"{daemon}.conf", {**base, **sections})
    binary = build_dir / f"src/{daemon}/oteldemo-{daemon}"
    for mode in (0o644, 0o640, 0o604):
        config.chmod(mode)
        out = subprocess.run([str(binary), "--config", str(config), "--check-config"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=30)
        assert out.returncode == EXIT_CONFIG, out.stdout
        lines = out.stdout.strip().splitlines()
        assert len(lines) == 1 and f"Invalid configuration: {config}:" in lines[0] and key in lines[0], lines
        for secret in (WRITE_TOKEN, ADMIN_TOKEN, CLIENT_TOKEN, "hunter2"):
            assert secret not in out.stdout
    config.chmod(0o600)  # the owner's alone: inline is allowed
    out = subprocess.run([str(binary), "--config", str(config), "--check-config"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=30)
    assert out.returncode == 0, out.stdout


def test_short_inline_token_is_refused(build_dir, wd):
    config = write_config(wd / "backend.conf", {"auth": {"write_token": "short"}})
    out = subprocess.run([str(build_dir / "src/backend/oteldemo-backend"), "--config", str(config),
                          "--check-config"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=30)
    assert out.returncode == EXIT_CONFIG
    assert "[auth] write_token: must be at least 16 characters" in out.stdout


@pytest.mark.parametrize("problem", ["group-readable", "missing", "symlink", "short"])
def test_write_token_file_must_be_root_only(build_dir, shop, problem, wd):
    path = wd / "write-token"
    if problem == "group-readable":
        secret_file(wd, "write-token", WRITE_TOKEN, mode=0o640)
    elif problem == "symlink":
        os.symlink(shop.creds / "write-token", path)
    elif problem == "short":
        secret_file(wd, "write-token", "0123456789")
    with shop_backend(build_dir, shop, wd, config={"auth": {"write_token_file": path}}) as backend:
        backend.start(wait_ready=False)
        assert backend.daemon.proc.wait(timeout=30) != 0
        log = backend.daemon.log_text()
        assert f"file {path} ([auth] write_token_file)" in log, log
        assert WRITE_TOKEN not in log


def test_write_token_file_opens_the_writes(build_dir, shop, wd):
    path = secret_file(wd, "write-token", WRITE_TOKEN)
    with shop_backend(build_dir, shop, wd, config={"auth": {"write_token_file": path}}) as backend:
        backend.start()
        assert backend.req("POST", "/api/users", new_user())[0] == 401
        assert backend.req("POST", "/api/users", new_user(), bearer(WRITE_TOKEN))[0] == 201


def test_backend_without_a_token_warns_that_writes_are_open(build_dir, shop, wd):
    with shop_backend(build_dir, shop, wd) as backend:
        backend.start()
        assert backend.req("POST", "/api/users", new_user())[0] == 201
        backend.daemon.wait_for_log("No write token configured")


# ---- nothing secret in telemetry or logs --------------------------------------------------------

def test_secrets_never_reach_spans_logs_or_access_logs(shop, receiver):
    headers = dict(bearer(CLIENT_TOKEN), Cookie=f"session={COOKIE_SECRET}", **{"X-Api-Token": CLIENT_TOKEN})
    path = f"/api/products?limit=1&sig={QUERY_SECRET}&AWSAccessKeyId={QUERY_SECRET}&X-Goog-Signature={QUERY_SECRET}"
    status, reply_headers, _ = request(shop.frontend.port, "GET", path, headers=headers)
    assert status == 200
    trace_id = reply_headers["traceresponse"].split("-")[1]
    status, _, user = request_json(shop.frontend.port, "POST", "/api/users", new_user(), headers)
    assert status == 201
    assert shop.backend.req("POST", "/api/users", new_user(), bearer("wrong-" + WRITE_TOKEN))[0] == 403
    assert shop.backend.req("GET", "/admin/faults", headers=bearer(ADMIN_TOKEN))[0] == 200

    # The proxy's CLIENT span names the backend URL with the sensitive query values redacted.
    spans = wait_for_spans(receiver, trace_id, lambda ss: any("url.full" in s["attrs"] for s in ss))
    url_full = next(s["attrs"]["url.full"] for s in spans if "url.full" in s["attrs"])
    assert url_full == (f"{shop.backend.url}/api/products?limit=1&sig=REDACTED&AWSAccessKeyId=REDACTED"
                        "&X-Goog-Signature=REDACTED")
    # Statements are parameterised: the values sent (the user's email) are never in db.query.text.
    wait_for_spans(receiver, trace_id, lambda ss: any(s["service"] == "oteldemo-backend" for s in ss))
    texts = {s["attrs"]["db.query.text"] for s in decoded_spans(receiver) if "db.query.text" in s["attrs"]}
    assert not any(user["email"] in t for t in texts), texts
    assert any(t.startswith("INSERT INTO users (name, email) VALUES ($1, $2)") for t in texts), texts

    receiver.wait_for_requests(1)
    exported = json.dumps([r.get("decoded") for r in receiver.requests()])
    assert "/v1/logs" in json.dumps([r.get("path") for r in receiver.requests()])
    logs = shop.logs()
    assert "Rejected a wrong bearer token: POST /api/users (realm oteldemo)" in logs
    for secret in SECRETS:
        assert secret not in exported, secret
        assert secret not in logs, secret
