# scripts/demo, non-interactively (--for): it brings the shop up on the ports it is given, the shop,
# /debug/tracez and the API answer, and when the time is up it stops everything it started and removes
# its temp dir (PostgreSQL cluster included). Uses the programs of the test build (--no-build) and
# installs nothing (--no-install): scripts/test has done both.
import contextlib
import http.client
import json
import os
import re
import queue
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from pki import https_context, https_get
from shop_stack import REPO, clean_env, free_port, request

DEMO = REPO / "scripts/demo"
DEMO_FOR_S = 30
# Bounds against a hang, not speed targets: on a loaded 2-core machine (load 20 and more) starting
# takes minutes (initdb, migrations, sample data, ASan daemons), and the demo's own stop allows each
# process 15 s before SIGKILL (load, Prometheus, frontend, backend) and pg_ctl its 60 s.
STARTUP_TIMEOUT_S = 300
STOP_TIMEOUT_S = 4 * 15 + 60 + 60
RUNNING_LINE = "oteldemo is running."
PROMETHEUS_UP_TIMEOUT_S = 30


def processes_mentioning(text):
    """PIDs whose command line contains text (what the demo started runs from its temp dir)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            pids.append(int(entry.name))
    return pids


def read_until(proc, marker, timeout):
    """Reads the demo's output until a line containing marker; returns everything read. A thread reads
    the lines (select() on the pipe cannot see lines already in the reader's buffer)."""
    if not hasattr(proc, "lines"):
        proc.lines = queue.Queue()

        def pump():
            for line in proc.stdout:
                proc.lines.put(line)
            proc.lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
    out = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = proc.lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            proc.lines.put(None)
            break
        out.append(line)
        if marker in line:
            return "".join(out)
    raise AssertionError(f"scripts/demo did not print {marker!r}:\n{''.join(out)}")


def start_demo(build_dir, ports, *flags, env=None):
    """scripts/demo with the test build, on ports {flag: port}, in a process group of its own."""
    argv = [str(DEMO), "--no-install", "--no-build", "--daemons-only", "--build-dir", str(build_dir), *flags]
    for flag, port in ports.items():
        argv += [flag, str(port)]
    return subprocess.Popen(argv, env=dict(clean_env(), **(env or {})), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


@contextlib.contextmanager
def demo_process(build_dir, ports, *flags, env=None):
    """start_demo(), and the whole process group killed on the way out if it still runs."""
    started = time.time()
    proc = start_demo(build_dir, ports, *flags, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            remove_killed_demo_dirs(started)


def remove_killed_demo_dirs(since):
    """After a SIGKILL the demo's trap never ran: stop what outlives its process group (pg_ctl starts
    PostgreSQL in a session of its own) and remove the temp dirs it made since `since`."""
    for tmp in Path(tempfile.gettempdir()).glob("oteldemo-stack.*"):
        try:
            if tmp.stat().st_mtime < since:
                continue
        except OSError:
            continue
        for pid in processes_mentioning(str(tmp)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)


def assert_stops_by_itself(proc, text):
    """A demo started with --for DEMO_FOR_S exits 0 in time (text: its output so far, for the message)."""
    proc.wait(timeout=DEMO_FOR_S + STOP_TIMEOUT_S)
    rest = "".join(iter(lambda: proc.lines.get(timeout=5) or "", ""))
    assert proc.returncode == 0, text + rest


def assert_nothing_left(tmp):
    """The demo removed its temp dir, and no process runs from it (a moment allowed to exit)."""
    assert not Path(tmp).exists(), f"{tmp} was left behind"
    deadline = time.monotonic() + 5
    while processes_mentioning(tmp) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_mentioning(tmp) == [], "processes left behind"


def cli_env_of_demo(tmp):
    """The environment `source <tmp>/cli.env` gives, over one without OTEL_*/OTELDEMO_* settings."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("OTELDEMO_")}
    out = subprocess.run(["bash", "-c", f'source "{tmp}/cli.env" && env -0'], env=env, stdout=subprocess.PIPE,
                         check=True, timeout=10)
    return dict(item.split("=", 1) for item in out.stdout.decode().split("\0") if "=" in item)


def assert_faults_through_the_cli(text, tmp, backend_port):
    """What the demo prints for fault flags works as printed: the token is a 0600 credential, and the
    CLI, given only the environment of cli.env, reaches the backend's admin endpoint with it."""
    assert f"source {tmp}/cli.env" in text, text
    token = Path(tmp, "credentials", "admin-token")
    assert token.stat().st_mode & 0o777 == 0o600
    env = cli_env_of_demo(tmp)
    assert env["OTELDEMO_TOKEN_FILE"] == str(token)
    out = subprocess.run(["oteldemo", "faults", "set", "payment_failure_rate=0.5"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    out = subprocess.run(["oteldemo", "--output", "json", "faults", "get"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=30)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert json.loads(out.stdout)["payment_failure_rate"] == 0.5
    status, _, _ = request(backend_port, "GET", "/admin/faults")
    assert status == 401  # the token is what opens it


def assert_writes_need_the_demos_token(tmp, shop_port, backend_port):
    """Secure by default: the backend's writes need the generated write token (a 0600 credential of both
    daemons), the shop's frontend sends it, and the CLI reads it through cli.env."""
    token = Path(tmp, "credentials", "write-token")
    assert token.stat().st_mode & 0o777 == 0o600
    order = {"user_id": 1, "product_id": 3, "quantity": 1}
    status, hdrs, _ = request(backend_port, "POST", "/api/orders", order)
    assert status == 401 and hdrs["www-authenticate"] == 'Bearer realm="oteldemo"'
    assert request(shop_port, "POST", "/api/orders", order)[0] == 201
    env = cli_env_of_demo(tmp)
    assert env["OTELDEMO_WRITE_TOKEN_FILE"] == str(token)
    out = subprocess.run(["oteldemo", "--url", f"http://127.0.0.1:{backend_port}", "orders", "create", "--user", "1",
                          "--product", "3", "--quantity", "1"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


def test_demo_runs_the_shop_then_stops_and_cleans_up(build_dir):
    ports = {"--port": free_port(), "--backend-port": free_port(), "--pg-port": free_port(),
             "--prometheus-port": free_port()}
    with demo_process(build_dir, ports, "--for", f"{DEMO_FOR_S}s") as proc:
        text = read_until(proc, RUNNING_LINE, STARTUP_TIMEOUT_S)
        text += read_until(proc, "Stopping by itself", 10)
        shop = ports["--port"]
        assert f"http://127.0.0.1:{shop}/" in text
        m = re.search(r"tail -f (\S+)/logs/\*\.log", text)
        assert m, text
        tmp = m.group(1)
        assert Path(tmp, "pg", "data").is_dir()

        status, hdrs, body = request(shop, "GET", "/")
        assert status == 200 and b"oteldemo" in body
        assert request(shop, "GET", "/debug/tracez")[0] == 200
        status, _, body = request(shop, "GET", "/api/products/1")
        assert status == 200 and b'"sku"' in body
        assert request(ports["--backend-port"], "GET", "/readyz")[0] == 200
        if Path("/usr/bin/prometheus").exists():
            assert f"http://127.0.0.1:{ports['--prometheus-port']}/" in text
        assert processes_mentioning(tmp), "nothing runs from the demo's temp dir?"
        assert_writes_need_the_demos_token(tmp, shop, ports["--backend-port"])  # before the payment faults
        assert_faults_through_the_cli(text, tmp, ports["--backend-port"])

        assert_stops_by_itself(proc, text)

    assert_nothing_left(tmp)
    for flag in ("--port", "--backend-port", "--pg-port"):
        with pytest.raises(OSError):
            request(ports[flag], "GET", "/", timeout=2)


def run_oteldemo(env, *args):
    out = subprocess.run(["oteldemo", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=30)
    assert out.returncode == 0 and out.stderr == "", (args, out.returncode, out.stderr)
    return out.stdout


def wait_for_https_scrapes(prometheus_port, jobs, timeout=PROMETHEUS_UP_TIMEOUT_S):
    """Waits until Prometheus has scraped every job over https:// with success; returns the targets."""
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = request(prometheus_port, "GET", "/api/v1/targets")
        targets = {t["labels"]["job"]: t for t in json.loads(body)["data"]["activeTargets"]} if status == 200 else {}
        if all(j in targets and targets[j]["health"] == "up" for j in jobs):
            return targets
        assert time.monotonic() < deadline, f"not every job scraped over HTTPS: {targets}"
        time.sleep(0.5)


def test_demo_tls_serves_https_with_mutual_tls_between_the_daemons(build_dir):
    ports = {"--port": free_port(), "--backend-port": free_port(), "--pg-port": free_port(),
             "--prometheus-port": free_port()}
    shop, backend = ports["--port"], ports["--backend-port"]
    with demo_process(build_dir, ports, "--tls", "--for", f"{DEMO_FOR_S}s",
                      env={"STACK_PROMETHEUS_INTERVAL": "1s"}) as proc:
        text = read_until(proc, RUNNING_LINE, STARTUP_TIMEOUT_S)
        text += read_until(proc, "Stopping by itself", 10)
        tmp = re.search(r"tail -f (\S+)/logs/\*\.log", text).group(1)
        tls = Path(tmp, "tls")
        assert f"https://127.0.0.1:{shop}/" in text and f"CA {tls}/ca.pem" in text, text
        assert tls.stat().st_mode & 0o777 == 0o700
        keys = sorted(p.name for p in tls.glob("*.key"))
        assert keys == ["backend.key", "ca.key", "client.key", "frontend.key"], keys
        assert all((tls / k).stat().st_mode & 0o777 == 0o600 for k in keys)
        ca, client = tls / "ca.pem", (tls / "client.pem", tls / "client.key")

        # The shop over HTTPS (the CA verifies it); its API calls reach the backend, which takes only
        # clients with a certificate of the CA: the frontend presents its own.
        status, _, body, conn = https_get(shop, "/api/products/1", https_context(ca))
        conn.close()
        assert status == 200 and b'"sku"' in body, body
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine)):
            request(shop, "GET", "/healthz", timeout=5)  # plain HTTP on the TLS listener
        with pytest.raises((ssl.SSLError, ConnectionResetError, http.client.RemoteDisconnected)):
            https_get(backend, "/readyz", https_context(ca))  # no client certificate
        status, _, _, conn = https_get(backend, "/readyz", https_context(ca, client=client))
        conn.close()
        assert status == 200

        # cli.env gives the CLI the CA and the client certificate: health through the frontend, fault
        # flags on the backend's admin endpoint (mutual TLS).
        env = cli_env_of_demo(tmp)
        assert env["OTELDEMO_URL"] == f"https://127.0.0.1:{shop}" and env["OTELDEMO_CA_FILE"] == str(ca)
        assert json.loads(run_oteldemo(env, "--output", "json", "health"))["ready"] is True
        run_oteldemo(env, "faults", "set", "payment_failure_rate=0.25")
        assert json.loads(run_oteldemo(env, "--output", "json", "faults", "get"))["payment_failure_rate"] == 0.25

        if Path("/usr/bin/prometheus").exists():
            targets = wait_for_https_scrapes(ports["--prometheus-port"], ["oteldemo-frontend", "oteldemo-backend"])
            assert targets["oteldemo-backend"]["scrapeUrl"] == f"https://127.0.0.1:{backend}/metrics"

        assert_stops_by_itself(proc, text)
    assert_nothing_left(tmp)


def test_demo_ctrl_c_stops_everything(build_dir):
    ports = {"--port": free_port(), "--backend-port": free_port(), "--pg-port": free_port()}
    with demo_process(build_dir, ports, "--no-prometheus", "--no-load") as proc:
        text = read_until(proc, "Press Ctrl-C", STARTUP_TIMEOUT_S)
        tmp = re.search(r"tail -f (\S+)/logs/\*\.log", text).group(1)
        assert request(ports["--port"], "GET", "/")[0] == 200
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
        proc.wait(timeout=STOP_TIMEOUT_S)
        assert proc.returncode == 0
    assert_nothing_left(tmp)


def test_demo_help_names_the_port_options():
    out = subprocess.run([str(DEMO), "--help"], stdout=subprocess.PIPE, text=True, timeout=10)
    assert out.returncode == 0
    for flag in ("--port", "--backend-port", "--pg-port", "--prometheus-port", "--for", "--tls", "Ctrl-C"):
        assert flag in out.stdout
