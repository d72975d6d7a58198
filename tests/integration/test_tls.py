# TLS end to end, with throwaway certificates made here by the openssl CLI (never committed): the
# backend's HTTPS listener (plain HTTP on it fails cleanly), the frontend reaching it over TLS with CA
# verification and mutual TLS, certificate rotation on SIGHUP (a broken new one keeps the old), the key
# file permission check, keys from systemd credentials, the watchdog probe over mutual TLS, and OTLP
# export over HTTPS to a receiver that verifies the exporter's client certificate.
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from conftest import OtlpReceiver, run_program
from pg import pg_cluster  # noqa: F401  (pytest fixture)
from shop_stack import WWW_DIR, Backend, Frontend, request_json, wait_for_spans, workdir, write_config

CONFIG_EXIT_INVALID = 78
HTTP_TIMEOUT_S = 15
RELOAD_TIMEOUT_S = 15
CERT_DAYS = 2
SPAN_KIND_SERVER = 2


# ---- throwaway certificates -----------------------------------------------------------------------

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Pki:
    """A CA in dir, and leaf certificates it signs (EC P-256, valid CERT_DAYS days)."""

    def __init__(self, directory, name):
        self.dir = Path(directory)
        self.name = name
        self.ca = self.dir / f"{name}-ca.pem"
        self.ca_key = self.dir / f"{name}-ca.key"
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.ca_key, "-out", self.ca, "-days", str(CERT_DAYS), "-subj", f"/CN={name} test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                cwd=self.dir)

    def issue(self, cn, usage="serverAuth"):
        """(cert path, key path) for cn, for a server (serverAuth) or a client (clientAuth); key 0600."""
        base = self.dir / f"{self.name}-{cn}"
        cert, key, csr, ext = (base.with_suffix(s) for s in (".pem", ".key", ".csr", ".ext"))
        ext.write_text(f"subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage={usage}\n"
                       "basicConstraints=CA:FALSE\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", csr, "-subj", f"/CN={cn}", cwd=self.dir)
        openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial",
                "-days", str(CERT_DAYS), "-out", cert, "-extfile", ext, cwd=self.dir)
        os.chmod(key, 0o600)
        return cert, key


@pytest.fixture(scope="module")
def pki():
    d = workdir()
    try:
        ca = Pki(d, "shop")
        ns = type("PkiSet", (), {})()
        ns.dir = d
        ns.ca = ca
        ns.server = ca.issue("backend")
        ns.server2 = ca.issue("backend-rotated")
        ns.client = ca.issue("frontend", usage="clientAuth")
        ns.other = Pki(d, "other")          # a CA nobody here trusts
        ns.stranger = ns.other.issue("stranger", usage="clientAuth")
        yield ns
    finally:
        shutil.rmtree(d, ignore_errors=True)


def tls_server_config(cert, key, client_ca=None):
    keys = {"tls_cert": cert, "tls_key": key}
    if client_ca:
        keys["tls_client_ca"] = client_ca
    return {"server": keys}


def https_context(ca, client=None):
    ctx = ssl.create_default_context(cafile=str(ca))
    if client:
        ctx.load_cert_chain(str(client[0]), str(client[1]))
    return ctx


def https_get(port, path, ctx, conn=None):
    """GET over HTTPS (on conn when given, kept open); returns (status, headers, body, conn)."""
    conn = conn or http.client.HTTPSConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S, context=ctx)
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read(), conn


def served_certificate(port, ca):
    """The DER certificate a new TLS connection to port is served."""
    with socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT_S) as raw:
        with https_context(ca).wrap_socket(raw, server_hostname="localhost") as s:
            return s.getpeercert(binary_form=True)


def der_of(pem_path):
    return ssl.PEM_cert_to_DER_cert(Path(pem_path).read_text())


@pytest.fixture
def tls_backend(build_dir, pg_cluster, pki, receiver):  # noqa: F811
    """A migrated backend serving HTTPS with a copy of the server certificate (the test may rotate it)."""
    started = []

    def start(client_ca=None, **env):
        wd = workdir()
        cert, key = wd / "server.pem", wd / "server.key"
        shutil.copy(pki.server[0], cert)
        shutil.copy(pki.server[1], key)
        os.chmod(key, 0o600)
        backend = Backend(build_dir, pg_cluster.create_database(), wd, receiver,
                          config=tls_server_config(cert, key, client_ca), **env)
        backend.url = f"https://127.0.0.1:{backend.port}"
        started.append((backend, wd))
        backend.migrate()
        backend.cert, backend.key = cert, key
        return backend.start()

    yield start
    for backend, wd in started:
        backend.close()
        shutil.rmtree(wd, ignore_errors=True)


@pytest.fixture
def frontend_to(build_dir):
    """Starts a frontend (plain HTTP) whose [backend] section is given."""
    started = []

    def start(backend_section):
        wd = workdir()
        fe = Frontend(build_dir, backend_section["url"], wd)
        sections = {"server": {"listen": f"127.0.0.1:{fe.port}", "www_dir": WWW_DIR, "threads": 4},
                    "backend": dict({"timeout_ms": 5000, "connect_timeout_ms": 1000}, **backend_section)}
        write_config(fe.config, sections)
        started.append((fe, wd))
        return fe.start()

    yield start
    for fe, wd in started:
        fe.close()
        shutil.rmtree(wd, ignore_errors=True)


# ---- the HTTPS listener ---------------------------------------------------------------------------

def test_https_listener_serves_with_a_verifiable_certificate(tls_backend, pki, receiver):
    backend = tls_backend()
    status, hdrs, body, conn = https_get(backend.port, "/api/products?limit=1", https_context(pki.ca.ca))
    conn.close()
    assert status == 200, body
    assert json.loads(body)["items"], body
    assert served_certificate(backend.port, pki.ca.ca) == der_of(pki.server[0])
    trace_id = hdrs["traceresponse"].split("-")[1]
    spans = wait_for_spans(receiver, trace_id, lambda ss: any(s["kind"] == SPAN_KIND_SERVER for s in ss))
    server = next(s for s in spans if s["kind"] == SPAN_KIND_SERVER)
    assert server["attrs"]["url.scheme"] == "https", server


def test_plain_http_on_the_https_listener_fails_cleanly(tls_backend, pki):
    backend = tls_backend()
    conn = http.client.HTTPConnection("127.0.0.1", backend.port, timeout=HTTP_TIMEOUT_S)
    started = time.monotonic()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine)):
        conn.request("GET", "/healthz")
        conn.getresponse()
    conn.close()
    assert time.monotonic() - started < HTTP_TIMEOUT_S / 2, "the plain request hung instead of being closed"
    status, _, _, conn = https_get(backend.port, "/healthz", https_context(pki.ca.ca))
    conn.close()
    assert status == 200, "the listener stopped serving after a plain HTTP request"


# ---- frontend → backend ---------------------------------------------------------------------------

def test_frontend_reaches_the_https_backend_verifying_its_ca(tls_backend, frontend_to, pki):
    backend = tls_backend()
    fe = frontend_to({"url": backend.url, "ca_file": pki.ca.ca})
    status, _, body = request_json(fe.port, "GET", "/api/products?limit=2")
    assert status == 200, body
    assert len(body["items"]) == 2


def test_frontend_with_the_wrong_ca_answers_502_with_json(tls_backend, frontend_to, pki):
    backend = tls_backend()
    fe = frontend_to({"url": backend.url, "ca_file": pki.other.ca})
    status, _, body = request_json(fe.port, "GET", "/api/products")
    assert status == 502, body
    assert "certificate" in body["error"].lower(), body
    assert len(body["trace_id"]) == 32


def test_mutual_tls_backend_refuses_a_frontend_without_a_client_certificate(tls_backend, frontend_to, pki):
    backend = tls_backend(client_ca=pki.ca.ca)
    without = frontend_to({"url": backend.url, "ca_file": pki.ca.ca})
    status, _, body = request_json(without.port, "GET", "/api/products")
    assert status == 502, body
    assert body["error"].startswith("the backend is unavailable"), body
    with_cert = frontend_to({"url": backend.url, "ca_file": pki.ca.ca, "client_cert": pki.client[0],
                             "client_key": pki.client[1]})
    status, _, body = request_json(with_cert.port, "GET", "/api/products?limit=1")
    assert status == 200, body


def test_mutual_tls_backend_refuses_a_certificate_from_another_ca(tls_backend, pki):
    backend = tls_backend(client_ca=pki.ca.ca)
    with pytest.raises((ssl.SSLError, ConnectionResetError, http.client.RemoteDisconnected)):
        https_get(backend.port, "/healthz", https_context(pki.ca.ca, client=pki.stranger))
    status, _, _, conn = https_get(backend.port, "/healthz", https_context(pki.ca.ca, client=pki.client))
    conn.close()
    assert status == 200


def test_watchdog_probe_passes_over_mutual_tls(tls_backend, pki):
    backend = tls_backend(client_ca=pki.ca.ca, WATCHDOG_USEC=1000000)
    backend.daemon.wait_for_notify("WATCHDOG=1", timeout=10)
    assert "Liveness probe failed" not in backend.daemon.log_text()


# ---- rotation on SIGHUP ---------------------------------------------------------------------------

def test_sighup_serves_the_new_certificate_and_keeps_open_connections(tls_backend, pki):
    backend = tls_backend()
    ctx = https_context(pki.ca.ca)
    status, _, _, kept = https_get(backend.port, "/healthz", ctx)
    assert status == 200
    shutil.copy(pki.server2[0], backend.cert)
    shutil.copy(pki.server2[1], backend.key)
    backend.daemon.proc.send_signal(signal.SIGHUP)
    backend.daemon.wait_for_log("TLS certificate reloaded", timeout=RELOAD_TIMEOUT_S)
    assert served_certificate(backend.port, pki.ca.ca) == der_of(pki.server2[0])
    status, _, _, kept = https_get(backend.port, "/healthz", ctx, conn=kept)  # the old connection
    kept.close()
    assert status == 200


def test_broken_certificate_on_sighup_keeps_the_old_one_and_says_why(tls_backend, pki):
    backend = tls_backend()
    backend.cert.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    backend.daemon.proc.send_signal(signal.SIGHUP)
    backend.daemon.wait_for_log("keeping the previous settings", timeout=RELOAD_TIMEOUT_S)
    line = next(ln for ln in backend.daemon.log_text().splitlines() if "keeping the previous settings" in ln)
    assert "[server] tls_cert" in line and str(backend.cert) in line, line
    assert served_certificate(backend.port, pki.ca.ca) == der_of(pki.server[0])


def test_key_of_another_certificate_on_sighup_keeps_the_old_one(tls_backend, pki):
    backend = tls_backend()
    shutil.copy(pki.server2[1], backend.key)  # the new key, the old certificate
    backend.daemon.proc.send_signal(signal.SIGHUP)
    backend.daemon.wait_for_log("does not belong", timeout=RELOAD_TIMEOUT_S)
    assert served_certificate(backend.port, pki.ca.ca) == der_of(pki.server[0])


# ---- configuration --------------------------------------------------------------------------------

def check_config(binary, sections, env=None):
    wd = workdir()
    try:
        path = write_config(wd / "test.conf", sections)
        out = subprocess.run([str(binary), "--config", str(path), "--check-config"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=30,
                             env=dict(os.environ, **(env or {})))
        return out.returncode, out.stdout
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def test_group_readable_server_key_is_refused_with_exit_78(build_dir, pki):
    key = pki.dir / "group-readable.key"
    shutil.copy(pki.server[1], key)
    os.chmod(key, 0o640)
    rc, out = check_config(build_dir / "src/backend/oteldemo-backend",
                           tls_server_config(pki.server[0], key))
    assert rc == CONFIG_EXIT_INVALID, out
    assert "[server] tls_key" in out and "group or others" in out and "0640" in out, out
    assert len([ln for ln in out.splitlines() if "ERROR" in ln]) == 1, out


def test_other_readable_frontend_client_key_is_refused_with_exit_78(build_dir, pki):
    key = pki.dir / "world-readable.key"
    shutil.copy(pki.client[1], key)
    os.chmod(key, 0o644)
    rc, out = check_config(build_dir / "src/frontend/oteldemo-frontend", {
        "server": {"www_dir": WWW_DIR},
        "backend": {"url": "https://127.0.0.1:8443", "client_cert": pki.client[0], "client_key": key}})
    assert rc == CONFIG_EXIT_INVALID, out
    assert "[backend] client_key" in out and "group or others" in out, out


@pytest.mark.parametrize("backend_section, key, says", [
    ({"url": "http://127.0.0.1:8081", "ca_file": "CA"}, "ca_file", "https://"),
    ({"url": "https://127.0.0.1:8443", "ca_file": "/nonexistent/ca.pem"}, "ca_file", "cannot read"),
    ({"url": "https://127.0.0.1:8443", "client_cert": "CLIENT"}, "client_key", "must be too"),
], ids=["ca-file-with-http-url", "missing-ca-file", "cert-without-key"])
def test_frontend_tls_options_are_checked_at_load(build_dir, pki, backend_section, key, says):
    section = {k: (pki.ca.ca if v == "CA" else pki.client[0] if v == "CLIENT" else v)
               for k, v in backend_section.items()}
    rc, out = check_config(build_dir / "src/frontend/oteldemo-frontend",
                           {"server": {"www_dir": WWW_DIR}, "backend": section})
    assert rc == CONFIG_EXIT_INVALID, out
    assert f"[backend] {key}" in out and says in out, out


def test_certificate_without_key_is_refused(build_dir, pki):
    rc, out = check_config(build_dir / "src/backend/oteldemo-backend", {"server": {"tls_cert": pki.server[0]}})
    assert rc == CONFIG_EXIT_INVALID, out
    assert "[server] tls_key" in out, out


def test_certificate_and_key_come_from_systemd_credentials(build_dir, pg_cluster, pki):  # noqa: F811
    wd = workdir()
    creds = wd / "credentials"
    creds.mkdir()
    shutil.copy(pki.server[0], creds / "tls-cert")
    shutil.copy(pki.server[1], creds / "tls-key")
    os.chmod(creds / "tls-key", 0o400)
    backend = Backend(build_dir, pg_cluster.create_database(), wd, CREDENTIALS_DIRECTORY=creds)
    try:
        backend.migrate()
        backend.start()
        assert served_certificate(backend.port, pki.ca.ca) == der_of(pki.server[0])
    finally:
        backend.close()
        shutil.rmtree(wd, ignore_errors=True)


# ---- OTLP export over HTTPS -----------------------------------------------------------------------

PROGRAM = "tests/programs/otel-wire-spans"


def export_env(receiver, **tls):
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_TRACES_EXPORTER": "otlp",
           "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", "OTEL_BSP_SCHEDULE_DELAY": "60000",
           "OTEL_EXPORTER_OTLP_TIMEOUT": "3000"}
    env.update({f"OTEL_EXPORTER_OTLP_{k.upper()}": str(v) for k, v in tls.items()})
    return env


@pytest.fixture
def tls_receiver(otlp_node_modules, pki):
    collector = pki.ca.issue("collector")
    receiver = OtlpReceiver(otlp_node_modules, tls={"cert": collector[0], "key": collector[1], "ca": pki.ca.ca,
                                                     "client_ca": pki.ca.ca, "client_cert": pki.client[0],
                                                     "client_key": pki.client[1]})
    try:
        yield receiver
    finally:
        receiver.close()


def test_otlp_export_over_https_verifies_the_ca_and_presents_the_client_certificate(build_dir, tls_receiver,
                                                                                    pki):
    proc = run_program(build_dir / PROGRAM, export_env(tls_receiver, certificate=pki.ca.ca,
                                                       traces_client_certificate=pki.client[0],
                                                       client_key=pki.client[1]))
    assert proc.returncode == 0, proc.stderr
    reqs = tls_receiver.wait_for_requests(1)
    assert reqs[0]["path"] == "/v1/traces" and reqs[0]["decodeError"] is None
    assert reqs[0]["clientCertCN"] == "frontend"
    assert reqs[0]["decoded"]["resourceSpans"], reqs[0]


@pytest.mark.parametrize("tls", [
    {"certificate": "OTHER_CA", "client_certificate": "CLIENT", "client_key": "CLIENT_KEY"},
    {"certificate": "CA"},
], ids=["wrong-ca", "no-client-certificate"])
def test_otlp_export_over_https_fails_without_the_right_ca_or_client_certificate(build_dir, tls_receiver, pki,
                                                                                 tls):
    paths = {"OTHER_CA": pki.other.ca, "CA": pki.ca.ca, "CLIENT": pki.client[0], "CLIENT_KEY": pki.client[1]}
    proc = run_program(build_dir / PROGRAM, export_env(tls_receiver, **{k: paths[v] for k, v in tls.items()}))
    assert proc.returncode == 0, proc.stderr
    assert "OTLP traces export" in proc.stderr and "failed" in proc.stderr, proc.stderr
    assert tls_receiver.requests() == []
