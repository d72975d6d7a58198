# Fixtures of the fault tests (scripts/test-faults), general enough for any module of tests/faults.
# The daemons, PostgreSQL and the load generator are the real ones; the helpers behind the fixtures
# are in faultkit.py (import it: `from faultkit import raw_http, ...`).
#
#   build_dir      the meson build to test: $OTELDEMO_BUILD_DIR, else build-release (session)
#   cli_path       its oteldemo CLI (session)
#   pg_cluster     one throwaway PostgreSQL cluster for the session (pg.py); a test may stop it, the
#                  next shop() starts it again
#   shop           shop(backend_config=None, frontend=True, backend_env=None, frontend_args=None):
#                  a context manager giving a faultkit.Shop: backend over a fresh migrated database of
#                  pg_cluster (and the frontend in front unless frontend=False); telemetry export off
#                  unless backend_env names an endpoint; everything stopped and removed on exit
#   load           load(url, rate=, duration=, mix=, retries=, concurrency=, seed=) runs
#                  `oteldemo load --output json --record FILE` in the background: a faultkit.LoadRun
#                  whose .result() waits and gives (summary dict, record lines)
#   otelcol_bin    the Collector distribution (oteldemo-otelcol): $STACK_OTELCOL_BIN (scripts/test-faults
#                  sets it), else where scripts/stack.sh caches it; missing is a failure, not a skip
#   collector      collector(): a started faultkit.Collector (the real one, test-only config in
#                  tmp_path) to kill, restart, freeze and thaw; killed at the end of the test
#   tmp_path       pytest's, as usual
# faultkit also has: raw_http (one request as raw bytes on a fresh connection), table_checksum
# (md5 of every shop table), prometheus_values (parse /metrics), proc_rss_kb / proc_fd_count,
# StatusEndpoint (answers every request with a status), Collector (the real one, as the collector
# fixture starts it).
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
INTEGRATION = HERE.parent / "integration"
sys.path.append(str(INTEGRATION))


def _integration_conftest():
    """tests/integration/conftest.py as a plain module (not as pytest's conftest: its fixtures and
    hooks are not ours), for the helpers pg.py and shop_stack.py import from "conftest" — which, while
    pytest runs tests/faults, is this file."""
    spec = importlib.util.spec_from_file_location("integration_conftest", INTEGRATION / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_helpers = _integration_conftest()
REPO, clean_env, free_port = _helpers.REPO, _helpers.clean_env, _helpers.free_port
program_argv, scaled = _helpers.program_argv, _helpers.scaled  # shop_stack.py imports them too

import faultkit  # noqa: E402
from pg import pg_cluster  # noqa: E402,F401  (pytest fixture)


@pytest.fixture(scope="session")
def build_dir():
    path = Path(os.environ.get("OTELDEMO_BUILD_DIR", REPO / "build-release"))
    assert (path / "src/backend/oteldemo-backend").is_file(), f"{path} has no oteldemo-backend (OTELDEMO_BUILD_DIR)"
    return path


@pytest.fixture(scope="session")
def cli_path(build_dir):
    path = build_dir / "src/cli/oteldemo"
    assert path.is_file(), f"{path} is not built"
    return path


@pytest.fixture
def shop(build_dir, pg_cluster):  # noqa: F811
    def start(**kwargs):
        return faultkit.running_shop(build_dir, pg_cluster, **kwargs)
    return start


@pytest.fixture
def load(cli_path, tmp_path):
    runs = []

    def start(url, **kwargs):
        run = faultkit.LoadRun(cli_path, url, tmp_path / f"load-{len(runs) + 1}.jsonl", **kwargs)
        runs.append(run)
        return run
    yield start
    for run in runs:
        run.kill()


@pytest.fixture(scope="session")
def otelcol_bin():
    path = os.environ.get("STACK_OTELCOL_BIN")
    if not path:
        out = subprocess.run(["bash", str(REPO / "scripts/stack.sh"), "paths"], stdout=subprocess.PIPE, text=True)
        path = out.stdout.splitlines()[0] if out.returncode == 0 and out.stdout else ""
    if not (path and os.access(path, os.X_OK)):
        pytest.fail(f"no Collector at '{path}': build it with scripts/stack.sh build (scripts/test-faults does)")
    return Path(path)


@pytest.fixture
def collector(otelcol_bin, tmp_path):
    started = []

    def start():
        c = faultkit.Collector(otelcol_bin, tmp_path / f"otelcol-{len(started) + 1}")
        started.append(c)
        return c.start()
    yield start
    for c in started:
        c.close()
