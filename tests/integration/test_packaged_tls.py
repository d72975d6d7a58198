# The TLS the packages set up by default (issue 15, "make the secure setup the default one"):
# packaging/oteldemo-tls, which the .deb postinst and the rpm %post run, makes a private CA and the
# daemons' certificates; the units hand them over with LoadCredential=. Here the script runs in a temp
# dir, and the daemons get exactly the credentials the unit files in systemd/ name (read from them), so
# the packaged layout is tested end to end without a package: the backend speaks HTTPS only and asks
# for client certificates, the frontend reaches it with verified, mutual TLS, and the CLI works with
# the CA and root's client certificate. tests/system proves the same after a real install.
import http.client
import os
import re
import shutil
import ssl
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import program_argv
from pg import pg_cluster  # noqa: F401  (pytest fixture)
from pki import https_context, https_get
from shop_stack import WWW_DIR, Backend, Frontend, request_json, workdir

REPO = Path(__file__).resolve().parents[2]
TLS_SETUP = REPO / "packaging/oteldemo-tls"
PACKAGED_TLS_DIR = "/etc/oteldemo/tls"
HTTP_TIMEOUT_S = 15
EXIT_OK = 0


def tls_setup(tls_dir, *args, check=True):
    out = subprocess.run(["sh", str(TLS_SETUP), *args], env=dict(os.environ, OTELDEMO_TLS_DIR=str(tls_dir)),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    if check:
        assert out.returncode == 0, out.stdout
    return out


def snapshot(tls_dir):
    return {p.name: p.read_bytes() for p in sorted(Path(tls_dir).iterdir())}


def openssl_text(*args):
    return subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, text=True).stdout


def verifies(ca, cert, purpose):
    return subprocess.run(["openssl", "verify", "-CAfile", str(ca), "-purpose", purpose, str(cert)],
                          capture_output=True, text=True).returncode == 0


def unit_credentials(unit):
    """credential name -> file name in /etc/oteldemo/tls, from systemd/<unit>.service.in."""
    text = (REPO / f"systemd/{unit}.service.in").read_text()
    found = re.findall(rf"(?m)^LoadCredential=([a-z-]+):{PACKAGED_TLS_DIR}/(\S+)$", text)
    return dict(found)


def credentials_dir(tls_dir, unit):
    """What systemd makes of the unit's TLS LoadCredential= lines: copies, mode 0400, in a dir."""
    creds = workdir()
    for name, file in unit_credentials(unit).items():
        shutil.copy(Path(tls_dir) / file, creds / name)
        os.chmod(creds / name, 0o400)
    return creds


@pytest.fixture
def tls_dir():
    d = workdir() / "tls"
    try:
        yield d
    finally:
        shutil.rmtree(d.parent, ignore_errors=True)


# ---- packaging/oteldemo-tls ---------------------------------------------------------------------

def test_ensure_makes_a_ca_and_each_certificate_with_owner_only_keys(tls_dir):
    tls_setup(tls_dir, "ensure", "backend", "client")
    tls_setup(tls_dir, "ensure", "frontend")
    assert sorted(p.name for p in tls_dir.iterdir()) == [
        "backend.key", "backend.pem", "ca.key", "ca.pem", "client.key", "client.pem", "frontend.key", "frontend.pem"]
    assert stat.S_IMODE(tls_dir.stat().st_mode) == 0o755
    for p in tls_dir.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == (0o600 if p.suffix == ".key" else 0o644), p


def test_certificates_chain_to_the_ca_with_the_purpose_of_each(tls_dir):
    tls_setup(tls_dir, "ensure", "backend", "client", "frontend")
    ca = tls_dir / "ca.pem"
    assert verifies(ca, tls_dir / "backend.pem", "sslserver")
    assert not verifies(ca, tls_dir / "backend.pem", "sslclient")
    assert verifies(ca, tls_dir / "frontend.pem", "sslserver") and verifies(ca, tls_dir / "frontend.pem", "sslclient")
    assert verifies(ca, tls_dir / "client.pem", "sslclient")
    assert not verifies(ca, tls_dir / "client.pem", "sslserver")
    text = openssl_text("x509", "-in", tls_dir / "backend.pem", "-noout", "-ext", "subjectAltName,basicConstraints")
    assert "DNS:localhost" in text and "IP Address:127.0.0.1" in text and f"DNS:{os.uname().nodename}" in text
    assert "CA:FALSE" in text, text
    assert "CA:TRUE, pathlen:0" in openssl_text("x509", "-in", ca, "-noout", "-ext", "basicConstraints")


def test_extra_names_come_from_oteldemo_tls_names(tls_dir):
    env = dict(os.environ, OTELDEMO_TLS_DIR=str(tls_dir), OTELDEMO_TLS_NAMES="DNS:shop.example.com,IP:192.0.2.10")
    subprocess.run(["sh", str(TLS_SETUP), "ensure", "backend"], env=env, check=True, capture_output=True)
    text = openssl_text("x509", "-in", tls_dir / "backend.pem", "-noout", "-ext", "subjectAltName")
    assert "DNS:shop.example.com" in text and "IP Address:192.0.2.10" in text, text


def test_ensure_again_keeps_every_existing_file(tls_dir):
    # What an upgrade does (postinst configure runs again): nothing changes.
    tls_setup(tls_dir, "ensure", "backend", "client", "frontend")
    before = snapshot(tls_dir)
    out = tls_setup(tls_dir, "ensure", "backend", "client", "frontend")
    assert snapshot(tls_dir) == before
    assert out.stdout == "", out.stdout


def test_ensure_remakes_only_an_incomplete_pair(tls_dir):
    tls_setup(tls_dir, "ensure", "backend", "frontend")
    before = snapshot(tls_dir)
    (tls_dir / "frontend.key").unlink()
    tls_setup(tls_dir, "ensure", "backend", "frontend")
    after = snapshot(tls_dir)
    assert after["frontend.pem"] != before["frontend.pem"] and after["frontend.key"] != before.get("frontend.key")
    assert {k: v for k, v in after.items() if not k.startswith("frontend.")} == \
        {k: v for k, v in before.items() if not k.startswith("frontend.")}


def test_renew_replaces_the_certificate_and_key_and_keeps_the_ca(tls_dir):
    tls_setup(tls_dir, "ensure", "backend")
    before = snapshot(tls_dir)
    out = tls_setup(tls_dir, "renew", "backend")
    after = snapshot(tls_dir)
    assert after["backend.pem"] != before["backend.pem"] and after["backend.key"] != before["backend.key"]
    assert after["ca.pem"] == before["ca.pem"] and after["ca.key"] == before["ca.key"]
    assert verifies(tls_dir / "ca.pem", tls_dir / "backend.pem", "sslserver")
    assert "issued" in out.stdout


def test_without_the_ca_key_nothing_is_issued_and_the_reason_is_given(tls_dir):
    # A CA put there by an operator (or by the Ansible role) without its key: ours are never mixed in.
    tls_setup(tls_dir, "ensure", "backend")
    (tls_dir / "ca.key").unlink()
    out = tls_setup(tls_dir, "ensure", "frontend", check=False)
    assert out.returncode == 1, out.stdout
    assert "no CA key" in out.stdout and "frontend.pem" in out.stdout, out.stdout
    assert not (tls_dir / "frontend.pem").exists() and not (tls_dir / "frontend.key").exists()


def test_unknown_certificate_name_is_refused(tls_dir):
    out = tls_setup(tls_dir, "ensure", "database", check=False)
    assert out.returncode == 1 and "unknown certificate 'database'" in out.stdout, out.stdout


# ---- the daemons with the units' credentials ---------------------------------------------------------

def test_units_load_the_certificates_the_script_makes():
    assert unit_credentials("oteldemo-backend") == {
        "tls-cert": "backend.pem", "tls-key": "backend.key", "tls-client-ca": "ca.pem"}
    assert unit_credentials("oteldemo-frontend") == {
        "backend-ca": "ca.pem", "backend-client-cert": "frontend.pem", "backend-client-key": "frontend.key"}


@pytest.fixture
def packaged_shop(build_dir, pg_cluster, tls_dir):  # noqa: F811
    """Backend and frontend started as their units start them: the TLS files of the script, passed
    as the units' credentials; the frontend's url the shipped https one (on the test's port)."""
    tls_setup(tls_dir, "ensure", "backend", "client")
    tls_setup(tls_dir, "ensure", "frontend")
    dirs = []
    backend = frontend = None
    try:
        be_wd, fe_wd = workdir(), workdir()
        dirs += [be_wd, fe_wd]
        be_creds = credentials_dir(tls_dir, "oteldemo-backend")
        fe_creds = credentials_dir(tls_dir, "oteldemo-frontend")
        dirs += [be_creds, fe_creds]
        backend = Backend(build_dir, pg_cluster.create_database(), be_wd, CREDENTIALS_DIRECTORY=be_creds)
        backend.migrate()
        backend.start()
        frontend = Frontend(build_dir, f"https://127.0.0.1:{backend.port}", fe_wd, CREDENTIALS_DIRECTORY=fe_creds)
        frontend.start()
        yield backend, frontend
    finally:
        for daemon in (frontend, backend):
            if daemon:
                daemon.close()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


def test_packaged_backend_speaks_only_tls_and_wants_a_client_certificate(packaged_shop, tls_dir):
    backend, _ = packaged_shop
    conn = http.client.HTTPConnection("127.0.0.1", backend.port, timeout=HTTP_TIMEOUT_S)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine)):
        conn.request("GET", "/healthz")
        conn.getresponse()
    conn.close()
    with pytest.raises((ssl.SSLError, ConnectionResetError, http.client.RemoteDisconnected)):
        https_get(backend.port, "/healthz", https_context(tls_dir / "ca.pem"))
    client = (tls_dir / "client.pem", tls_dir / "client.key")
    status, _, _, conn = https_get(backend.port, "/healthz", https_context(tls_dir / "ca.pem", client=client))
    conn.close()
    assert status == 200


def test_packaged_frontend_reaches_the_backend_over_verified_mutual_tls(packaged_shop):
    _, frontend = packaged_shop
    status, _, body = request_json(frontend.port, "GET", "/api/products?limit=2")
    assert status == 200, body
    assert len(body["items"]) == 2


def test_cli_reaches_the_packaged_backend_with_the_ca_and_the_client_certificate(build_dir, packaged_shop,
                                                                                   tls_dir):
    backend, _ = packaged_shop
    argv = [build_dir / "src/cli/oteldemo", "--url", f"https://127.0.0.1:{backend.port}",
            "--cacert", tls_dir / "ca.pem", "--cert", tls_dir / "client.pem", "--key", tls_dir / "client.key",
            "--output", "json", "products", "list", "--limit", "1"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OTELDEMO_"))}
    env["OTEL_TRACES_EXPORTER"] = "none"
    out = subprocess.run(program_argv(argv), env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == EXIT_OK, out.stderr
    assert '"items"' in out.stdout, out.stdout


def test_frontend_ignores_the_backend_tls_credentials_for_an_http_url(build_dir, tls_dir):
    # The packaged unit always passes them; an operator who points it at a plain backend changes the url.
    tls_setup(tls_dir, "ensure", "frontend")
    creds = credentials_dir(tls_dir, "oteldemo-frontend")
    wd = workdir()
    try:
        cfg = wd / "frontend.conf"
        cfg.write_text(f"[server]\nwww_dir = {WWW_DIR}\n\n[backend]\nurl = http://127.0.0.1:8081\n")
        out = subprocess.run(program_argv([build_dir / "src/frontend/oteldemo-frontend", "--config", cfg,
                                           "--check-config"]), env=dict(os.environ, CREDENTIALS_DIRECTORY=str(creds)),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
        assert out.returncode == EXIT_OK, out.stdout
    finally:
        shutil.rmtree(wd, ignore_errors=True)
        shutil.rmtree(creds, ignore_errors=True)


def test_socket_activated_packaged_backend_answers_the_first_tls_connection(build_dir, pg_cluster, tls_dir):  # noqa: F811
    # oteldemo-backend.socket: the first client's TLS handshake waits in the socket while the daemon
    # starts, then gets the packaged certificate.
    activator = shutil.which("systemd-socket-activate")
    if not activator:
        pytest.skip("systemd-socket-activate is not installed")
    from shop_stack import Daemon, free_port

    tls_setup(tls_dir, "ensure", "backend", "client")
    wd = workdir()
    creds = credentials_dir(tls_dir, "oteldemo-backend")
    port = free_port()
    backend = Backend(build_dir, pg_cluster.create_database(), wd, CREDENTIALS_DIRECTORY=creds)
    try:
        backend.migrate()
        # The activator passes the daemon no environment but what -E names.
        backend.daemon = Daemon([activator, "-l", f"127.0.0.1:{port}", "-E", f"CREDENTIALS_DIRECTORY={creds}",
                                 backend.binary, "--config", backend.config], backend.env, backend.workdir, "backend")
        backend.daemon.wait_for_log(f"{port} as 3")
        client = (tls_dir / "client.pem", tls_dir / "client.key")
        status, _, _, conn = https_get(port, "/healthz", https_context(tls_dir / "ca.pem", client=client))
        conn.close()
        assert status == 200
    finally:
        backend.close()
        shutil.rmtree(wd, ignore_errors=True)
        shutil.rmtree(creds, ignore_errors=True)
