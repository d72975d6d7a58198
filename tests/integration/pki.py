# Throwaway certificates for the TLS tests, made by the openssl CLI in a temp dir (never committed):
# a CA, server and client certificates it signs, and a second CA that nobody trusts. Shared by
# test_tls.py, test_cli.py and test_demo.py.
import http.client
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from shop_stack import workdir

CERT_DAYS = 2
HTTP_TIMEOUT_S = 15


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
