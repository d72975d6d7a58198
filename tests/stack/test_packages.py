# The native packages of the stack components (nfpm, from packaging/*/nfpm.yaml): a .deb and an .rpm of
# each, with the program, the hardened systemd unit running as the package's own user, the sysusers.d
# entry, and the config under /etc as a conffile.
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

COMPONENTS = {
    "oteldemo-otelcol": {"/usr/bin/oteldemo-otelcol", "/etc/otelcol/config.yaml"},
    "oteldemo-jaeger": {"/usr/bin/oteldemo-jaeger", "/etc/jaeger/config.yaml"},
    "oteldemo-zipkin": {"/usr/share/oteldemo-zipkin/zipkin-server.jar"},
}
HARDENING = ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
             "CapabilityBoundingSet=", "RestrictAddressFamilies=", "SystemCallFilter=@system-service")


def build(fmt, out):
    res = subprocess.run([str(REPO / "scripts/stack.sh"), "package", fmt, str(out)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=900)
    assert res.returncode == 0, res.stdout
    return [Path(p) for p in res.stdout.split() if p.endswith("." + fmt)]


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    return {p.name.split("_")[0]: p for p in build("deb", tmp_path_factory.mktemp("deb"))}


@pytest.fixture(scope="module")
def rpms(tmp_path_factory):
    return {p.name.rsplit("-", 2)[0]: p for p in build("rpm", tmp_path_factory.mktemp("rpm"))}


def run(*argv):
    return subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, check=True, text=True).stdout


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_deb_has_program_unit_user_and_conffiles(debs, name):
    deb = debs[name]
    files = {line.split()[-1].lstrip(".") for line in run("dpkg-deb", "-c", deb).splitlines()}
    unit = f"/usr/lib/systemd/system/{name}.service"
    assert COMPONENTS[name] | {unit, f"/usr/lib/sysusers.d/{name}.conf", f"/etc/default/{name}"} <= files
    conffiles = set(run("dpkg-deb", "-I", deb, "conffiles").split())
    assert {f for f in COMPONENTS[name] | {f"/etc/default/{name}"} if f.startswith("/etc/")} == conffiles
    assert run("dpkg-deb", "-f", deb, "Package").strip() == name
    unit_text = (REPO / "packaging" / name.split("-")[1] / f"{name}.service").read_text()
    assert f"User={name}" in unit_text and "ExecStartPost=" in unit_text
    for line in HARDENING:
        assert line in unit_text, (name, line)


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_rpm_has_the_same_files_and_config_noreplace(rpms, name):
    rpm = rpms[name]
    files = set(run("rpm", "-qpl", rpm).split())
    assert COMPONENTS[name] | {f"/usr/lib/systemd/system/{name}.service"} <= files
    configs = set(run("rpm", "-qpc", rpm).split())
    assert {f for f in COMPONENTS[name] if f.startswith("/etc/")} <= configs
    assert "systemd-sysusers" in run("rpm", "-qp", "--scripts", rpm)


def test_a_second_package_build_comes_from_the_cache(debs, tmp_path):
    import time
    start = time.monotonic()
    again = build("deb", tmp_path)
    assert len(again) == 3 and time.monotonic() - start < 30
