# SPDX-License-Identifier: Apache-2.0
"""System test: oteldemo's .debs under a booted systemd (Debian 12 container, private network).

Run by scripts/test-system, which builds the packages first:
    /usr/bin/python3 tests/system/test_packages.py DIST_DIR
Each check is one behaviour; they run in order on one container (install, run, break, upgrade,
remove), a failed check is reported and the next ones still run. The last line printed is
"N passed, N failed"; the exit status is 1 when anything failed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import container  # noqa: E402

PACKAGES = ("oteldemo-backend", "oteldemo-frontend", "oteldemo-cli")
UNITS = ("oteldemo-backend.service", "oteldemo-frontend.service")
ALL_UNITS = UNITS + ("oteldemo-backend.socket", "oteldemo-frontend.socket", "oteldemo.target")
# What the README's "Install from packages" runs (apt-get, for its stable output).
APT_PREREQS = ("postgresql", "curl")
EXPOSURE_MAX = 2.0
# What the install makes in /etc/oteldemo/tls (packaging/oteldemo-tls), and what a client of the backend
# needs: it serves HTTPS only and asks for a certificate of that CA (mutual TLS).
TLS_DIR = "/etc/oteldemo/tls"
TLS_FILES = ("backend.key", "backend.pem", "ca.key", "ca.pem", "client.key", "client.pem", "frontend.key",
             "frontend.pem")
BACKEND = "https://127.0.0.1:8081"
BACKEND_TLS = ("--cacert", f"{TLS_DIR}/ca.pem", "--cert", f"{TLS_DIR}/client.pem", "--key", f"{TLS_DIR}/client.key")
EXPECTED_FILES = {
    "oteldemo-backend": ["./usr/bin/oteldemo-backend", "./etc/oteldemo/backend.conf",
                         "./lib/systemd/system/oteldemo-backend.service",
                         "./lib/systemd/system/oteldemo-backend.socket", "./lib/systemd/system/oteldemo.target",
                         "./usr/lib/sysusers.d/oteldemo-backend.conf", "./usr/lib/tmpfiles.d/oteldemo-backend.conf",
                         "./usr/libexec/oteldemo-backend/oteldemo-tls",
                         "./usr/share/man/man8/oteldemo-backend.8.gz", "./usr/share/man/man5/oteldemo.conf.5.gz",
                         "./usr/share/oteldemo/db/0001_init.sql"],
    "oteldemo-frontend": ["./usr/bin/oteldemo-frontend", "./etc/oteldemo/frontend.conf",
                          "./lib/systemd/system/oteldemo-frontend.service",
                          "./lib/systemd/system/oteldemo-frontend.socket",
                          "./usr/lib/sysusers.d/oteldemo-frontend.conf", "./usr/libexec/oteldemo-frontend/oteldemo-tls",
                          "./usr/share/man/man8/oteldemo-frontend.8.gz", "./usr/share/oteldemo/www/index.html"],
    "oteldemo-cli": ["./usr/bin/oteldemo", "./usr/share/man/man1/oteldemo.1.gz",
                     "./usr/share/bash-completion/completions/oteldemo"],
}

results: list[tuple[str, bool, str]] = []
T0 = time.monotonic()


def check(fn):
    """Runs one check now, recording pass or fail (with the reason) instead of stopping."""
    name = fn.__name__
    t0 = time.monotonic()
    try:
        fn()
    except Exception as e:  # a failed check is reported, the run goes on
        detail = str(e) if isinstance(e, (AssertionError, container.ContainerError)) else traceback.format_exc()
        results.append((name, False, detail))
        print(f"FAIL {name} ({time.monotonic() - t0:.1f} s)\n{detail}", flush=True)
    else:
        results.append((name, True, ""))
        print(f"ok   {name} ({time.monotonic() - t0:.1f} s)", flush=True)
    return fn


def wait_for(what: str, predicate, timeout: float = 60, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


class Shop:
    """The container and the few questions the checks keep asking it."""

    def __init__(self, c: container.Container):
        self.c = c

    def sh(self, cmd, **kw):
        return self.c.run(cmd, **kw)

    def prop(self, unit: str, name: str) -> str:
        return self.sh(["systemctl", "show", "-P", name, unit]).stdout.strip()

    def active(self, unit: str) -> str:
        return self.sh(["systemctl", "is-active", unit], check=False).stdout.strip()

    def curl(self, url: str, *args) -> tuple[int, dict, str]:
        r = self.sh(["curl", "-sS", "-D", "/root/curl.headers", "-o", "/root/curl.body", "-w", "%{http_code}",
                     "--max-time", "20", *args, url], check=False)
        if r.rc != 0:
            return 0, {}, r.stderr
        headers = {}
        for line in self.c.read_file("/root/curl.headers").splitlines()[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        return int(r.stdout.strip()), headers, self.c.read_file("/root/curl.body")

    def backend(self, path: str, *args) -> tuple[int, dict, str]:
        """A request to the backend as its clients make it: HTTPS, the CA, root's client certificate."""
        return self.curl(f"{BACKEND}{path}", *BACKEND_TLS, *args)

    def tls_digests(self) -> str:
        return self.sh(["sh", "-c", f"cd {TLS_DIR} && sha256sum *"]).stdout

    def journal(self, *args) -> list[dict]:
        r = self.sh(["journalctl", "--no-pager", "-o", "json", *args], check=False)
        return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]

    def journal_text(self, unit: str, since: str) -> str:
        return self.sh(["journalctl", "--no-pager", "-o", "cat", "-u", unit, "--since", since],
                       check=False).stdout

    def now(self) -> str:
        return self.sh(["date", "+%Y-%m-%d %H:%M:%S"]).stdout.strip()

    def set_conf(self, path: str, section: str, key: str, value: str) -> None:
        """Sets key in [section] of an INI file inside (appending the section when missing)."""
        text = self.c.read_file(path)
        lines, out, in_section, done = text.splitlines(), [], False, False
        for line in lines:
            if re.match(r"^\s*\[", line):
                if in_section and not done:
                    out.append(f"{key} = {value}")
                    done = True
                in_section = line.strip() == f"[{section}]"
            elif in_section and re.match(rf"^\s*#?\s*{re.escape(key)}\s*=", line):
                if not done:
                    out.append(f"{key} = {value}")
                    done = True
                continue
            out.append(line)
        if not done:
            out += ([] if in_section else [f"[{section}]"]) + [f"{key} = {value}"]
        self.c.write_file(path, "\n".join(out) + "\n")


def deb_files(dist: Path, revision: str) -> list[Path]:
    # dist/ may also hold the stack's packages (scripts/test-ansible builds oteldemo-otelcol and others).
    debs = sorted(d for d in dist.glob(f"oteldemo-*_*-{revision}_*.deb") if d.name.split("_")[0] in PACKAGES)
    names = {d.name.split("_")[0] for d in debs}
    if names != set(PACKAGES):
        raise SystemExit(f"expected the .debs of {', '.join(PACKAGES)} (revision {revision}) in {dist}, "
                         f"found {[d.name for d in debs]}")
    return debs


def next_build(debs: list[Path], out: Path) -> list[Path]:
    """The same packages with the next Debian revision (the binaries of this build, repacked)."""
    made = []
    for deb in debs:
        work = Path(tempfile.mkdtemp(dir=out))
        subprocess.run(["dpkg-deb", "-R", str(deb), str(work / "pkg")], check=True)
        control = work / "pkg/DEBIAN/control"
        text = control.read_text()
        version = re.search(r"(?m)^Version: (.*)$", text).group(1)
        upstream, revision = version.rsplit("-", 1)
        text = text.replace(f"Version: {version}", f"Version: {upstream}-{int(revision) + 1}")
        control.write_text(text)
        target = out / deb.name.replace(f"_{version}_", f"_{upstream}-{int(revision) + 1}_")
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "-b", str(work / "pkg"), str(target)],
                       check=True, stdout=subprocess.DEVNULL)
        shutil.rmtree(work)
        made.append(target)
    return made


def run_checks(dist: Path) -> None:
    debs = deb_files(dist, "1")
    upgrade_dir = Path(tempfile.mkdtemp(prefix="oteldemo-upgrade-"))
    try:
        upgrade = next_build(debs, upgrade_dir)
        root = container.ensure_root()
        t0 = time.monotonic()
        # The container has no network but its own loopback: everything apt needs is fetched first.
        container.prefetch(root, APT_PREREQS, local_debs=debs)
        print(f"prefetched packages in {time.monotonic() - t0:.0f} s", flush=True)
        binds = [(str(dist.resolve()), "/dist", "ro"), (str(upgrade_dir), "/upgrade", "ro")]
        with container.Container("system", root, network="private", binds=binds) as c:
            checks(Shop(c), [f"/dist/{d.name}" for d in debs], [f"/upgrade/{d.name}" for d in upgrade])
            if not all(ok for _, ok, _ in results):
                print("---- container console (tail) ----\n" + container._tail(c.console_log(), 60), flush=True)
    finally:
        shutil.rmtree(upgrade_dir, ignore_errors=True)
    listing_checks(debs)


def listing_checks(debs: list[Path]) -> None:
    @check
    def test_deb_listings_hold_the_expected_files():
        for deb in debs:
            package = deb.name.split("_")[0]
            listing = subprocess.run(["dpkg-deb", "-c", str(deb)], check=True, capture_output=True,
                                     text=True).stdout
            paths = {line.split()[-1] if " -> " not in line else line.split()[-3] for line in listing.splitlines()}
            missing = [p for p in EXPECTED_FILES[package] if p not in paths]
            assert not missing, f"{deb.name} lacks {missing}"
            conf = {"oteldemo-backend": "/etc/oteldemo/backend.conf",
                    "oteldemo-frontend": "/etc/oteldemo/frontend.conf"}.get(package)
            conffiles = subprocess.run(["dpkg-deb", "-I", str(deb), "conffiles"], capture_output=True,
                                       text=True).stdout.split()
            assert conffiles == ([conf] if conf else []), f"{deb.name} conffiles: {conffiles}"


def checks(s: Shop, debs: list[str], upgrade: list[str]) -> None:
    env = {"DEBIAN_FRONTEND": "noninteractive"}

    @check
    def test_install_postgresql_and_the_packages():
        s.sh(["apt-get", "install", "-y", "-q", *APT_PREREQS], env=env, timeout=900)
        r = s.sh(["apt-get", "install", "-y", "-q", *debs], env=env, timeout=900)
        assert "oteldemo-backend: no database was set up" not in r.stderr, r.stderr
        for unit in UNITS:
            assert s.sh(["systemctl", "is-enabled", unit]).stdout.strip() == "enabled"
        assert s.sh(["getent", "passwd", "oteldemo"]).stdout.startswith("oteldemo:")
        mode = s.sh(["stat", "-c", "%a %U", "/etc/oteldemo/db-password", "/etc/oteldemo/admin-token",
                     "/etc/oteldemo/write-token"]).stdout
        assert mode.split("\n")[:3] == ["600 root", "600 root", "600 root"], mode
        assert len(s.c.read_file("/etc/oteldemo/write-token").strip()) == 32

    @check
    def test_install_makes_the_private_ca_and_certificates_with_root_only_keys():
        listing = s.sh(["sh", "-c", f"cd {TLS_DIR} && stat -c '%n %a %U' * ."]).stdout.split("\n")
        modes = dict(line.split(" ", 1) for line in listing if line)
        assert modes == {".": "755 root", **{f: ("600 root" if f.endswith(".key") else "644 root")
                                             for f in TLS_FILES}}, modes
        for cert, purpose in (("backend", "sslserver"), ("frontend", "sslclient"), ("client", "sslclient")):
            r = s.sh(["openssl", "verify", "-CAfile", f"{TLS_DIR}/ca.pem", "-purpose", purpose,
                      f"{TLS_DIR}/{cert}.pem"], check=False)
            assert r.rc == 0, r.stdout + r.stderr

    @check
    def test_target_start_blocks_until_ready_with_status_text():
        s.sh(["systemctl", "start", "oteldemo.target"], timeout=120)
        for unit in UNITS:
            assert s.active(unit) == "active", f"{unit}: {s.active(unit)}"
            assert s.prop(unit, "StatusText"), f"{unit} has no StatusText"
        code, _, body = s.backend("/readyz")
        assert code == 200, (code, body)

    @check
    def test_backend_speaks_only_tls_and_only_to_holders_of_a_certificate_of_its_ca():
        r = s.sh(["curl", "-sS", "--max-time", "10", "http://127.0.0.1:8081/healthz"], check=False)
        # 52: empty reply (closed without an answer), 56: reset.
        assert r.rc in (52, 56), f"plain HTTP was answered (curl exit {r.rc}): {r.stdout} {r.stderr}"
        code, _, err = s.curl(f"{BACKEND}/healthz", "--cacert", f"{TLS_DIR}/ca.pem")
        assert code == 0, "served without a client certificate"
        code, _, err = s.curl(f"{BACKEND}/healthz")
        assert code == 0 and "certificate" in err, err
        assert s.backend("/healthz")[0] == 200
        unit = s.sh(["systemctl", "cat", "oteldemo-backend"]).stdout.splitlines()
        for line in ("LoadCredential=tls-cert:/etc/oteldemo/tls/backend.pem",
                     "LoadCredential=tls-key:/etc/oteldemo/tls/backend.key",
                     "LoadCredential=tls-client-ca:/etc/oteldemo/tls/ca.pem"):
            assert line in unit, line

    @check
    def test_frontend_reaches_the_backend_only_over_verified_tls():
        code, _, body = s.curl("http://127.0.0.1:8080/api/products")
        assert code == 200, (code, body)
        # Another CA in ca.pem's place: the frontend (restarted; the backend keeps the one it loaded)
        # no longer accepts the backend's certificate.
        saved = s.c.read_file(f"{TLS_DIR}/ca.pem")
        s.sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-subj", "/CN=not the oteldemo CA", "-keyout", "/root/other-ca.key", "-out", f"{TLS_DIR}/ca.pem"])
        try:
            s.sh(["systemctl", "restart", "oteldemo-frontend"])
            code, _, body = s.curl("http://127.0.0.1:8080/api/products")
            assert code == 502 and "certificate" in body.lower(), (code, body)
        finally:
            s.c.write_file(f"{TLS_DIR}/ca.pem", saved)
            s.sh(["systemctl", "restart", "oteldemo-frontend"])
        assert s.curl("http://127.0.0.1:8080/api/products")[0] == 200

    @check
    def test_cli_reaches_the_backend_with_the_ca_and_root_client_certificate():
        r = s.sh(["oteldemo", "--url", BACKEND, *BACKEND_TLS, "products", "get", "1"], check=False)
        assert r.rc == 0, r.stdout + r.stderr
        r = s.sh(["oteldemo", "--admin-url", BACKEND, *BACKEND_TLS, "--token-file", "/etc/oteldemo/admin-token",
                  "--output", "json", "faults", "get"], check=False)
        assert r.rc == 0 and "payment_failure_rate" in r.stdout, r.stdout + r.stderr
        r = s.sh(["oteldemo", "--url", BACKEND, "products", "get", "1"], check=False)
        assert r.rc == 69, r.stdout + r.stderr

    @check
    def test_writes_need_the_generated_token_which_the_frontend_sends():
        user = '{"name": "Package Test", "email": "package-test@example.com"}'
        post = ("-X", "POST", "-H", "Content-Type: application/json", "--data", user)
        code, headers, body = s.backend("/api/users", *post)
        assert code == 401 and headers.get("www-authenticate") == 'Bearer realm="oteldemo"', (code, body)
        code, _, body = s.curl("http://127.0.0.1:8080/api/users", *post)
        assert code == 201, (code, body)

    @check
    def test_backend_is_not_active_before_the_database_answers():
        # Masked, so that the backend's Wants= cannot start it again.
        s.sh(["systemctl", "stop", "oteldemo-backend", "postgresql"])
        s.sh(["systemctl", "mask", "--runtime", "postgresql.service", "postgresql@15-main.service"])
        s.sh(["systemctl", "start", "--no-block", "oteldemo-backend"])
        time.sleep(6)
        state = s.active("oteldemo-backend")
        assert state != "active", "active without a database"
        s.sh(["systemctl", "unmask", "--runtime", "postgresql.service", "postgresql@15-main.service"])
        s.sh(["systemctl", "start", "postgresql"], timeout=120)
        wait_for("backend active after the database", lambda: s.active("oteldemo-backend") == "active", 60)

    @check
    def test_journal_follows_one_request_through_both_daemons():
        s.set_conf("/etc/oteldemo/backend.conf", "faults", "product_failure_id", "1")
        s.sh(["systemctl", "reload", "oteldemo-backend"])
        code, headers, body = s.curl("http://127.0.0.1:8080/api/products/1")
        assert code >= 500, (code, body)
        trace_id = headers["traceresponse"].split("-")[1]

        def both():
            units = {e.get("_SYSTEMD_UNIT") for e in s.journal(f"TRACE_ID={trace_id}")}
            return units if set(UNITS) <= units else None

        wait_for(f"journal lines of both daemons with TRACE_ID={trace_id}", both, 15)
        entry = s.journal("-u", "oteldemo-backend", f"TRACE_ID={trace_id}")[0]
        assert re.fullmatch(r"[0-9a-f]{16}", entry.get("SPAN_ID", "")), entry

    @check
    def test_reload_cycles_reloading_ready_and_applies_fault_flags():
        since = s.now()
        s.set_conf("/etc/oteldemo/backend.conf", "faults", "product_failure_id", "2")
        pid = s.prop("oteldemo-backend", "MainPID")
        s.sh(["systemctl", "reload", "oteldemo-backend"])
        assert s.prop("oteldemo-backend", "MainPID") == pid, "reload restarted the daemon"
        assert s.backend("/api/products/1")[0] == 200
        assert s.backend("/api/products/2")[0] == 500
        log = s.journal_text("oteldemo-backend", since)
        assert "Reloading" in log and "Reloaded" in log, log
        s.set_conf("/etc/oteldemo/backend.conf", "faults", "product_failure_id", "0")
        s.sh(["systemctl", "reload", "oteldemo-backend"])

    @check
    def test_kill_9_restarts_the_backend():
        pid = s.prop("oteldemo-backend", "MainPID")
        restarts = int(s.prop("oteldemo-backend", "NRestarts"))
        s.sh(["/bin/kill", "-9", pid])
        wait_for("a new backend", lambda: s.active("oteldemo-backend") == "active"
                 and s.prop("oteldemo-backend", "MainPID") not in ("0", pid), 60)
        assert int(s.prop("oteldemo-backend", "NRestarts")) == restarts + 1

    @check
    def test_kill_stop_is_ended_by_the_watchdog():
        since = s.now()
        pid = s.prop("oteldemo-backend", "MainPID")
        s.sh(["/bin/kill", "-STOP", pid])
        wait_for("a watchdog restart", lambda: s.active("oteldemo-backend") == "active"
                 and s.prop("oteldemo-backend", "MainPID") not in ("0", pid), 90)
        log = s.journal_text("oteldemo-backend", since)
        assert "Failed with result 'watchdog'" in log, log

    @check
    def test_config_error_fails_the_unit_with_file_and_line():
        since = s.now()
        path = "/etc/oteldemo/frontend.conf"
        good = s.c.read_file(path)
        s.c.write_file(path, good + "[server]\nno_such_key = 1\n")
        line = len(good.splitlines()) + 2
        r = s.sh(["systemctl", "restart", "oteldemo-frontend"], check=False)
        assert r.rc != 0
        # --check-config (ExecStartPre) exits 78: the start fails; it is retried every RestartSec.
        assert s.prop("oteldemo-frontend", "Result") == "exit-code"
        assert s.active("oteldemo-frontend") != "active"
        log = s.journal_text("oteldemo-frontend", since)
        assert f"{path}:{line}" in log, log
        s.c.write_file(path, good)
        s.sh(["systemctl", "restart", "oteldemo-frontend"])

    @check
    def test_socket_activation_starts_both_services_on_first_request():
        # libcurl's connect timeout covers the TLS handshake, which waits for the activated backend's start
        # (its --check-config and --migrate steps): what the README tells to set with the sockets.
        path = "/etc/oteldemo/frontend.conf"
        good = s.c.read_file(path)
        s.set_conf(path, "backend", "connect_timeout_ms", "15000")
        s.sh(["systemctl", "stop", "oteldemo.target", *UNITS])
        s.sh(["systemctl", "enable", "--now", "oteldemo-backend.socket", "oteldemo-frontend.socket"])
        for unit in UNITS:
            assert s.active(unit) == "inactive", f"{unit} already {s.active(unit)}"
        code, _, body = s.curl("http://127.0.0.1:8080/api/products")
        assert code == 200, (code, body)
        for unit in UNITS:
            assert s.active(unit) == "active", unit
        s.sh(["systemctl", "disable", "--now", "oteldemo-backend.socket", "oteldemo-frontend.socket"])
        s.c.write_file(path, good)
        s.sh(["systemctl", "restart", *UNITS])

    @check
    def test_systemd_analyze_security_exposure_at_most_2():
        for unit in UNITS:
            r = s.sh(["systemd-analyze", "security", "--no-pager", unit], check=False)
            m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
            assert m, r.stdout + r.stderr
            assert float(m.group(1)) <= EXPOSURE_MAX, f"{unit}: {m.group(1)}\n{r.stdout}"
            print(f"     systemd-analyze security {unit}: exposure {m.group(1)}", flush=True)

    @check
    def test_systemd_analyze_verify_every_unit():
        r = s.sh(["systemd-analyze", "verify", "--man=no", *[f"/lib/systemd/system/{u}" for u in ALL_UNITS]],
                 check=False)
        assert r.rc == 0 and not r.stderr.strip(), r.stderr

    @check
    def test_upgrade_keeps_edited_conffiles_and_restarts():
        path = "/etc/oteldemo/backend.conf"
        s.c.write_file(path, s.c.read_file(path) + "# edited by the system test\n")
        pids = [s.prop(u, "MainPID") for u in UNITS]
        certificates = s.tls_digests()
        s.sh(["apt-get", "install", "-y", "-q", *upgrade], env=env, timeout=600)
        assert "# edited by the system test" in s.c.read_file(path)
        assert s.tls_digests() == certificates, "the upgrade changed the TLS files"
        for unit, pid in zip(UNITS, pids):
            wait_for(f"{unit} active again", lambda u=unit: s.active(u) == "active", 60)
            assert s.prop(unit, "MainPID") != pid, f"{unit} was not restarted"
        version = s.sh(["dpkg-query", "-W", "-f", "${Version}", "oteldemo-backend"]).stdout
        assert version.endswith("-2"), version
        assert s.curl("http://127.0.0.1:8080/api/products")[0] == 200
        assert s.backend("/healthz")[0] == 200

    @check
    def test_remove_stops_the_services_and_keeps_config():
        # dbconfig-common's questions, answered as an operator would: deconfigure, then drop on purge.
        s.sh(["debconf-set-selections"], input="oteldemo-backend oteldemo-backend/dbconfig-remove boolean true\n"
             "oteldemo-backend oteldemo-backend/purge boolean true\n")
        s.sh(["apt-get", "remove", "-y", "-q", *PACKAGES], env=env, timeout=300)
        for unit in UNITS:
            assert s.active(unit) in ("inactive", "unknown"), f"{unit}: {s.active(unit)}"
        assert s.sh(["test", "-f", "/etc/oteldemo/backend.conf"], check=False).rc == 0
        assert s.sh(["test", "-f", f"{TLS_DIR}/backend.key"], check=False).rc == 0, "remove took the key"

    @check
    def test_purge_removes_config_user_and_database():
        s.sh(["apt-get", "purge", "-y", "-q", *PACKAGES], env=env, timeout=300)
        assert s.sh(["test", "-e", "/etc/oteldemo"], check=False).rc != 0, "/etc/oteldemo still there"
        assert s.sh(["getent", "passwd", "oteldemo"], check=False).rc != 0, "user oteldemo still there"
        dbs = s.sh(["runuser", "-u", "postgres", "--", "psql", "-Atc", "SELECT datname FROM pg_database"]).stdout
        assert "oteldemo" not in dbs.split(), dbs


def main(argv) -> int:
    container.install_signal_cleanup()
    if len(argv) != 1:
        print("usage: test_packages.py DIST_DIR", file=sys.stderr)
        return 2
    try:
        run_checks(Path(argv[0]))
    except Exception:  # set-up failed: counted, and the summary still printed
        results.append(("set-up", False, traceback.format_exc()))
        print(f"FAIL set-up\n{traceback.format_exc()}", flush=True)
    print(f"system test wall time {time.monotonic() - T0:.0f} s", flush=True)
    passed = sum(1 for _, ok, _ in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
