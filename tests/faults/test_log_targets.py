# Log targets that fail, and a broken config on SIGHUP (issue 15): the daemons log to stderr (journald
# under systemd; they have no log file of their own). With stdout and stderr on /dev/full (ENOSPC on
# every write) or on a pipe whose reader has gone (EPIPE; SIGPIPE must not kill them) they keep serving
# every request under load. SIGHUP with an invalid config file keeps the old settings and logs one line
# naming the file, the line and the key.
import os
import re
import signal
import subprocess
import time

import pytest

from faultkit import healthy, request, wait_until
from shop_stack import Backend, Frontend

LOAD = {"rate": 50, "duration": "3s", "mix": "browse=60,order=20,user=20", "concurrency": 8}


def no_failures(lines):
    bad = [line for line in lines if line["status"] == 0 or line["status"] >= 500]
    assert lines and not bad, bad[:5]


def start_with_output(daemon, out_fd):
    """Starts daemon's binary (a shop_stack Backend/Frontend, not started) with stdout and stderr on
    out_fd and no NOTIFY_SOCKET; returns the process once /healthz answers."""
    proc = subprocess.Popen([str(daemon.binary), "--config", str(daemon.config)], env=daemon.env,
                            stdin=subprocess.DEVNULL, stdout=out_fd, stderr=out_fd)
    try:
        wait_until(lambda: healthy(daemon.port) or proc.poll() is not None, timeout=30, what="daemon up")
        assert proc.poll() is None, f"exited with {proc.returncode}"
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc


def broken_pipe():
    """The write end of a pipe whose read end is closed."""
    r, w = os.pipe()
    os.close(r)
    return w


@pytest.mark.parametrize("target", ["dev_full", "broken_pipe"])
def test_unwritable_log_target_is_not_fatal_for_either_daemon(shop, load, build_dir, target):
    with shop(frontend=False) as s:
        s.backend.daemon.close()  # the same backend again, logging nowhere
        fd = os.open("/dev/full", os.O_WRONLY) if target == "dev_full" else broken_pipe()
        fe = Frontend(build_dir, s.backend.url, s.backend.workdir)
        backend = frontend = None
        try:
            backend = start_with_output(s.backend, fd)
            frontend = start_with_output(fe, fd)
            # Through the frontend: both daemons log every request (access log) and fail every write.
            _, lines = load(fe.url, **LOAD).result()
            no_failures(lines)
            # A log burst: 404s and 400s are logged as rejections.
            for _ in range(50):
                assert request(fe.port, "GET", "/api/products/999999")[0] == 404
            assert backend.poll() is None and frontend.poll() is None
            assert healthy(s.backend.port) and healthy(fe.port)
            for proc in (frontend, backend):
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(timeout=15) == 0
        finally:
            for proc in (frontend, backend):
                if proc and proc.poll() is None:
                    proc.kill()
                    proc.wait()
            os.close(fd)


CONFIG_ERROR_RE = r"{path}:{line}: \[{section}\] {key}: .+"


def sighup_with_broken_config(daemon_obj, config_text, bad_line, section, key):
    """Appends a blank line and config_text (whose line bad_line, counted from 1, is invalid) to the
    daemon's config, sends SIGHUP, checks that one log line names the file, line and key; restores the
    file."""
    path = daemon_obj.config
    original = path.read_text()
    assert original.endswith("\n")
    path.write_text(original + "\n" + config_text)
    daemon_obj.daemon.messages.clear()
    daemon_obj.daemon.proc.send_signal(signal.SIGHUP)
    daemon_obj.daemon.wait_for_notify("READY=1", timeout=10)
    line = len(original.splitlines()) + 1 + bad_line
    pattern = CONFIG_ERROR_RE.format(path=re.escape(str(path)), line=line, section=section, key=key)
    found = [ln for ln in daemon_obj.daemon.log_text().splitlines() if re.search(pattern, ln)]
    assert len(found) == 1, (pattern, daemon_obj.daemon.log_text()[-2000:])
    path.write_text(original)


def test_sighup_with_a_broken_config_keeps_the_old_one_under_load(shop, load):
    with shop() as s:
        run = load(s.frontend.url, rate=40, duration="4s", mix="browse=70,user=30")
        run.t0()
        # A valid change (product 9 fails) beside an invalid value: nothing of the file may apply.
        sighup_with_broken_config(s.backend, "[faults]\nproduct_failure_id = 9\npayment_failure_rate = 2\n",
                                  3, "faults", "payment_failure_rate")
        assert request(s.backend.port, "GET", "/api/products/9")[0] == 200
        sighup_with_broken_config(s.frontend, "[telemetry]\nlog_level = loud\n", 2, "telemetry", "log_level")
        _, lines = run.result()
        no_failures(lines)
        assert s.backend.daemon.proc.poll() is None and s.frontend.daemon.proc.poll() is None
