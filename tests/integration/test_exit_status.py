# SPDX-License-Identifier: Apache-2.0
# The exit statuses both daemons share with the CLI (src/common/exit-status.h, README, oteldemo(1)):
# 2 for a bad command line, 78 for an invalid configuration, 69 when a service they need does not
# answer. The skeleton (service_main) owns them, so both daemons are held to the same table.
import subprocess
from pathlib import Path

import pytest

from shop_stack import Backend, clean_env, free_port

EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_CONFIG = 2, 69, 78
DAEMONS = ["src/backend/oteldemo-backend", "src/frontend/oteldemo-frontend"]


def run(*args):
    return subprocess.run([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30,
                          env=clean_env({"OTEL_TRACES_EXPORTER": "none"}))


@pytest.mark.parametrize("daemon", DAEMONS)
def test_unknown_option_exits_2_pointing_at_help(build_dir, daemon):
    binary = build_dir / daemon
    out = run(binary, "--no-such-option")
    assert out.returncode == EXIT_USAGE, out.stderr
    assert f"Try '{binary.name} --help'." in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("daemon", DAEMONS)
def test_unexpected_argument_exits_2_naming_it(build_dir, daemon):
    binary = build_dir / daemon
    out = run(binary, "stray")
    assert out.returncode == EXIT_USAGE
    assert f"{binary.name}: unexpected argument 'stray'" in out.stderr


@pytest.mark.parametrize("daemon", DAEMONS)
def test_missing_config_file_exits_78_naming_it(build_dir, tmp_path, daemon):
    missing = tmp_path / "absent.conf"
    out = run(build_dir / daemon, "--config", str(missing), "--check-config")
    assert out.returncode == EXIT_CONFIG
    assert str(missing) in out.stdout + out.stderr


def test_check_config_rejects_a_www_dir_start_up_cannot_serve(build_dir, tmp_path):
    missing = tmp_path / "no-www"
    conf = tmp_path / "frontend.conf"
    conf.write_text(f"[server]\nlisten = 127.0.0.1:{free_port()}\nwww_dir = {missing}\n")
    out = run(build_dir / "src/frontend/oteldemo-frontend", "--config", conf, "--check-config")
    assert out.returncode == EXIT_CONFIG, out.stdout + out.stderr
    assert "configuration OK" not in out.stdout
    assert (f"{conf}:3: [server] www_dir: cannot serve '{missing}': No such file or directory"
            in out.stderr), out.stderr


@pytest.mark.parametrize("daemon", DAEMONS)
def test_help_lists_the_exit_statuses(build_dir, daemon):
    out = run(build_dir / daemon, "--help")
    assert out.returncode == 0
    assert "Exit status: 0 ok, 1 failure, 2 usage error, 69 a service it needs is unavailable, 78 " \
           "invalid configuration." in out.stdout


def test_migrate_without_a_database_exits_69(build_dir, tmp_path):
    port = free_port()  # nothing listens there
    backend = Backend(build_dir, f"host=127.0.0.1 port={port} dbname=x connect_timeout=2", tmp_path)
    out = backend.run("--migrate")
    assert out.returncode == EXIT_UNAVAILABLE, out.stdout
    assert "Cannot connect to the database" in out.stdout


@pytest.mark.parametrize("daemon,conf,key,folder", [
    ("src/backend/oteldemo-backend", "backend.conf", "migrations_dir", "db"),
    ("src/frontend/oteldemo-frontend", "frontend.conf", "www_dir", "www"),
])
def test_build_tree_config_points_at_the_checkout_and_passes_check_config(build_dir, daemon, conf, key, folder):
    # README's "run from a checkout": build/etc/*.conf are etc/*.conf with the data paths in this tree.
    repo = Path(__file__).resolve().parents[2]
    built = build_dir / "etc" / conf
    lines = [line.split("=", 1)[1].strip() for line in built.read_text().splitlines()
             if line.split("=", 1)[0].strip() == key]
    assert lines == [str(repo / folder)]
    out = run(build_dir / daemon, "--config", built, "--check-config")
    assert (out.returncode, out.stdout.strip()) == (0, f"{built}: configuration OK"), out.stderr
