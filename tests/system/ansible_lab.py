# SPDX-License-Identifier: Apache-2.0
"""A lab of booted Debian 12 hosts for the Ansible tests: one container per inventory host.

Each host is a systemd-nspawn container (tests/system/container.py) with its own address on a
private bridge network (a network namespace the lab creates; nothing else is reachable from it).
ansible-playbook runs on this machine inside that namespace (the controller, the bridge's .1) and
reaches the hosts over ssh with a key made for the run. Distribution packages come from the root's
prefetched apt cache, so the hosts install them without a network, as on an air-gapped site.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

import container

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "ansible"

# In the cached root: what Ansible needs on a managed host (python3, apt bindings, sshd, sudo).
ROOT_PACKAGES = ("python3", "python3-apt", "openssh-server", "sudo", "iproute2", "procps")
# Prefetched for offline installs: what the roles install from the distribution.
DISTRO_PACKAGES = ("postgresql", "postgresql-client", "python3-psycopg2", "acl", "prometheus", "gpg",
                   "haproxy", "pgbouncer")
# Our native packages, expected in dist/ (scripts/package output).
OUR_PACKAGES = {
    "oteldemo-backend": "oteldemo_backend",
    "oteldemo-frontend": "oteldemo_frontend",
    "oteldemo-otelcol": "otelcol",
    "oteldemo-jaeger": "jaeger",
    "oteldemo-zipkin": "zipkin",
}


def package_dir() -> Path:
    return Path(os.environ.get("OTELDEMO_DIST_DIR", REPO / "dist"))


def find_packages() -> dict:
    """name -> newest .deb in the package directory, for the names present."""
    found = {}
    for name in OUR_PACKAGES:
        debs = sorted(package_dir().glob(f"{name}_*_*.deb"))
        if debs:
            found[name] = debs[-1]
    return found


def inventory_hosts(inventory: Path) -> list:
    """Every host named in an inventory YAML file, in order of first appearance."""
    names = []

    def walk(group):
        for host in (group or {}).get("hosts") or {}:
            if host not in names:
                names.append(host)
        for child in ((group or {}).get("children") or {}).values():
            walk(child)

    walk(yaml.safe_load(inventory.read_text())["all"])
    return names


class PlaybookRun:
    """One ansible-playbook run, with the json callback's report parsed."""

    def __init__(self, argv, proc: subprocess.CompletedProcess):
        self.argv = argv
        self.rc = proc.returncode
        self.stderr = proc.stderr
        try:
            self.report = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            self.report = {"plays": [], "stats": {}}
            self.stderr += "\n(unparsable stdout)\n" + proc.stdout[-4000:]

    def stats(self) -> dict:
        return self.report.get("stats", {})

    def total(self, key: str) -> int:
        return sum(s.get(key, 0) for s in self.stats().values())

    def results(self):
        """(task name, host, result) for every task result of the run."""
        for play in self.report.get("plays", []):
            for task in play.get("tasks", []):
                # "role : task" for role tasks: the task's own name is what the tests look for.
                name = task["task"]["name"].split(" : ", 1)[-1]
                for host, res in task.get("hosts", {}).items():
                    yield name, host, res

    def changed(self):
        return [(name, host, res) for name, host, res in self.results() if res.get("changed")]

    def failures(self) -> str:
        lines = []
        for name, host, res in self.results():
            if res.get("failed") or res.get("unreachable"):
                lines.append(f"{host}: {name}: {res.get('msg', '')} {res.get('stderr', '')}".strip())
        return "\n".join(lines)

    def summary(self) -> str:
        return (f"ansible-playbook rc={self.rc}; stats={json.dumps(self.stats())}\n"
                f"failed tasks:\n{self.failures()}\nstderr tail:\n{self.stderr[-3000:]}")


class Lab:
    """Containers for the hosts of one inventory, and the controller side of the run."""

    def __init__(self, name: str, subnet_index: int, inventory: str):
        self.name = name
        self.inventory = ANSIBLE_DIR / "inventories" / inventory / "hosts.yml"
        self.hostnames = inventory_hosts(self.inventory)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"oteldemo-ansible-{name}-"))
        self.root = None
        self.network = None
        self.hosts: dict[str, container.Container] = {}
        self.subnet_index = subnet_index
        self.packages = find_packages()

    # -- set-up and teardown ---------------------------------------------------------------

    def start(self) -> None:
        container.ensure_host_tools()
        self.root = container.ensure_root(include=ROOT_PACKAGES)
        container.prefetch(self.root, DISTRO_PACKAGES, local_debs=list(self.packages.values()))
        self._make_key()
        self.network = container.Network(self.name, self.subnet_index)
        for host in self.hostnames:
            c = container.Container(host, self.root, network=self.network)
            self.hosts[host] = c
            c.boot()
            c.write_file("/root/.ssh/authorized_keys", self.pubkey, mode=0o600)
            # No name server (nspawn copied the host's): a name lookup, e.g. apt's for an upstream
            # repository, fails at once instead of timing out against an unreachable address.
            c.write_file("/etc/resolv.conf", "")
            c.run(["chmod", "0700", "/root/.ssh"])
        self._write_inventory_overlay()
        self._wait_ssh()

    def stop(self) -> None:
        for c in self.hosts.values():
            try:
                c.destroy()
            except container.ContainerError as e:
                print(f"ansible_lab: {c.name}: {e}")
        if self.network is not None:
            self.network.destroy()
        subprocess.run(["rm", "-rf", str(self.workdir)], check=False)

    def _make_key(self) -> None:
        key = self.workdir / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"oteldemo-{self.name}",
                        "-f", str(key)], check=True, stdin=subprocess.DEVNULL)
        self.key = key
        self.pubkey = (self.workdir / "id_ed25519.pub").read_text()

    def _write_inventory_overlay(self) -> None:
        """A second inventory source giving each inventory host the address of its container."""
        hosts = {h: {"ansible_host": c.ip, "ansible_user": "root"} for h, c in self.hosts.items()}
        self.overlay = self.workdir / "lab-hosts.yml"
        self.overlay.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))

    def _ssh_argv(self, host: str, *cmd) -> list:
        return self.network.exec_argv() + [
            "ssh", "-i", str(self.key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
            f"root@{self.hosts[host].ip}", *cmd]

    def _wait_ssh(self, timeout: float = 60) -> None:
        for host in self.hosts:
            deadline = time.monotonic() + timeout
            while True:
                r = subprocess.run(self._ssh_argv(host, "true"), capture_output=True, text=True,
                                   stdin=subprocess.DEVNULL)
                if r.returncode == 0:
                    break
                if time.monotonic() > deadline:
                    raise container.ContainerError(f"ssh to {host} failed: {r.stderr.strip()}")
                time.sleep(0.5)

    # -- running things --------------------------------------------------------------------

    def missing_roles(self) -> list:
        """Tags of the roles whose native package is not in the package directory."""
        return [role for name, role in OUR_PACKAGES.items() if name not in self.packages]

    def playbook(self, *args, check=False, diff=False, extra_vars=None, skip_tags=(), tags=(),
                 timeout: float = 1500) -> PlaybookRun:
        argv = ["ansible-playbook", "-i", str(self.inventory), "-i", str(self.overlay), "site.yml"]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        if tags:
            argv += ["--tags", ",".join(tags)]
        if skip_tags:
            argv += ["--skip-tags", ",".join(skip_tags)]
        # Our packages come from the package directory the lab was given (dist/ by default).
        extra = {"oteldemo_package_dir": str(package_dir())}
        extra.update(extra_vars or {})
        for k, v in extra.items():
            argv += ["-e", json.dumps({k: v})]
        argv += list(args)
        env = dict(os.environ,
                   ANSIBLE_STDOUT_CALLBACK="json",
                   ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                   ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_PRIVATE_KEY_FILE=str(self.key),
                   ANSIBLE_SSH_ARGS=("-o ControlMaster=auto -o ControlPersist=120s "
                                     "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no "
                                     "-o LogLevel=ERROR"),
                   ANSIBLE_SSH_CONTROL_PATH_DIR=str(self.workdir / "cp"),
                   ANSIBLE_LOCAL_TEMP=str(self.workdir / "tmp"),
                   ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0")
        env.pop("ANSIBLE_CONFIG", None)
        full = self.network.exec_argv() + argv
        t0 = time.monotonic()
        proc = subprocess.run(full, cwd=ANSIBLE_DIR, env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        run = PlaybookRun(full, proc)
        print(f"ansible_lab: {' '.join(argv[3:]) or 'site.yml'}: rc={run.rc} "
              f"changed={run.total('changed')} in {time.monotonic() - t0:.0f} s")
        return run

    def diagnose(self) -> str:
        """Failed units of every host and their last journal lines (for a failed deploy's message)."""
        out = []
        for host, c in self.hosts.items():
            r = c.run(["sh", "-c", "systemctl --failed --no-legend --plain | cut -d' ' -f1"], check=False)
            units = set(r.stdout.split()) - {"nvmf-autoconnect.service"}
            # Restart=on-failure keeps a failing daemon out of --failed (auto-restart): ours always.
            # (journalctl works where systemctl over nsenter finds no bus.)
            units |= {"oteldemo-backend.service", "oteldemo-frontend.service"}
            for unit in sorted(units):
                j = c.run(["journalctl", "--no-pager", "-n", "25", "-u", unit], check=False)
                out.append(f"--- {host}: {unit} ---\n{j.stdout}")
        return "\n".join(out) or "no failed units"

    def sh(self, host: str, cmd: str, check=True, timeout: float = 120) -> container.Result:
        return self.hosts[host].run(["sh", "-c", cmd], check=check, timeout=timeout)

    def http(self, url: str, method: str = "GET", body: str | None = None, headers=(),
             timeout: float = 10, curl_args=()) -> tuple:
        """(status, headers dict lower-cased, body) of a request made from the controller; an error:
        (0, {}, curl's message)."""
        argv = self.network.exec_argv() + ["curl", "-sS", "--max-time", str(timeout), "-X", method,
                                           "-D", "-", "-o", "-", *map(str, curl_args), url]
        for h in headers:
            argv += ["-H", h]
        if body is not None:
            argv += ["-H", "Content-Type: application/json", "--data-binary", body]
        # Bytes, decoded here: text=True would turn the header block's CRLFs into LFs.
        r = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            return 0, {}, r.stderr.decode(errors="replace")
        head, _, rest = r.stdout.decode(errors="replace").partition("\r\n\r\n")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        return status, hdrs, rest

    def wait_for(self, what: str, probe, timeout: float = 60, interval: float = 1.0):
        """Calls probe() until it returns a truthy value; raises with `what` on timeout."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = probe()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")

    def spawn_controller(self, argv, stdout_path: Path) -> subprocess.Popen:
        """A long-running command on the controller side (e.g. `oteldemo load`)."""
        out = open(stdout_path, "w")
        return subprocess.Popen(self.network.exec_argv() + list(argv), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def cli_binary() -> Path:
    """The oteldemo CLI: OTELDEMO_CLI, else a build in the worktree (scripts/test builds one)."""
    import pytest

    if os.environ.get("OTELDEMO_CLI"):
        return Path(os.environ["OTELDEMO_CLI"])
    for build in sorted(REPO.glob("build*/src/cli/oteldemo")):
        if os.access(build, os.X_OK):
            return build
    pytest.fail("no oteldemo CLI built (set OTELDEMO_CLI or build with meson)", pytrace=False)


def tls_files(host: str, name: str) -> tuple:
    """(CA, certificate, key) on the controller: the deployment's CA and the certificate role oteldemo_tls
    issued there for host's name (the newest, should its names have changed)."""
    tls = ANSIBLE_DIR / "credentials/tls"
    certs = sorted(tls.glob(f"{host}-{name}-*.pem"), key=lambda p: p.stat().st_mtime)
    assert certs, f"no certificate {name} of {host} in {tls}"
    return tls / "ca/ca.pem", certs[-1], certs[-1].with_suffix(".key")


def diff_lines(result: dict) -> list:
    """The +/- lines of a task result's diff (before/after text), headers left out."""
    import difflib

    lines = []
    for d in result.get("diff", []) or []:
        if "before" in d or "after" in d:
            before = (d.get("before") or "").splitlines()
            after = (d.get("after") or "").splitlines()
            for line in difflib.unified_diff(before, after, lineterm="", n=0):
                if line.startswith(("---", "+++", "@@")):
                    continue
                lines.append(line)
    return lines


def recap_changed(run: PlaybookRun) -> dict:
    return {host: s.get("changed", 0) for host, s in run.stats().items()}


TRACE_ID = re.compile(r"00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
