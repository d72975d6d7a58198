# SPDX-License-Identifier: Apache-2.0
"""Debian 12 containers booted with systemd as PID 1, for the system, fresh-clone and Ansible tests.

One module, used by scripts/test-system, scripts/test-fresh and the Ansible tests. Run it with Debian's
/usr/bin/python3, as root. It needs debootstrap and systemd-container (systemd-nspawn) on the host;
`ensure_host_tools()` installs them when missing.

Why it works the way it does (facts measured on these machines):
- the host has no systemd as PID 1, so machinectl is useless: containers are booted with
  `systemd-nspawn -b --keep-unit --register=no` and entered with `nsenter -t <leader> -a -F`
  (without -F, poweroff hangs on the stopped nsenter child);
- a command's output goes to files, never to a pipe: a daemon it starts would keep a pipe open;
- a SIGKILLed nspawn leaves a lock in /run/systemd/nspawn/locks/: `cleanup_stale()` removes locks
  nobody holds, and containers left behind by a killed test;
- apt inside a container on the host network needs the host's apt settings (proxy, validity) and
  sources, and the host's extra CA certificates: those, and nothing else, are copied in.

API
---
ensure_host_tools()
    Installs debootstrap and systemd-container on the host when missing.

ensure_root(include=(), rebuild=False, max_age_days=7) -> Root
    The cached debootstrap root (Debian 12, --variant=minbase, with systemd, systemd-sysv, dbus,
    ca-certificates and the `include` packages). Cached under CACHE_DIR, keyed by a hash of the
    recipe (RECIPE_VERSION, suite, variant, package list); rebuilt when missing, older than
    max_age_days, when rebuild=True or when OTELDEMO_ROOT_REBUILD=1. Concurrent callers wait on a
    lock instead of building twice. `Root.path` is the read-only lower directory, `Root.key` the hash.

Container(name, root, network="host", binds=(), apt_cache=True)
    A container over `root`. Its own writes go to an overlay upper directory (cp --reflink copy
    when overlayfs is unavailable), so the cached root is never modified. `name` is a short
    hostname-like word; a unique machine name is derived from it (`.name`).
    network: "host"    shares the host's network (apt works; daemons inside listen on the host's
                       loopback, so mind the ports);
             "private" only a loopback of its own (nspawn --private-network);
             Network   a veth on a bridge in a private network namespace (see Network below).
    binds: iterable of (host_path, container_path) or (host_path, container_path, "ro").
    apt_cache: True: a hard-linked snapshot of this root's apt lists and .deb archives (see
               prefetch()), so a private-network container installs prefetched packages offline;
               "shared": those caches bind-mounted read-write (prefetch() itself); False: none.
    Use it as a context manager (boot on enter, poweroff and full cleanup on exit, also on error),
    or call boot() and destroy() yourself.

    .boot(timeout=60)          starts nspawn, finds the leader (the container's PID 1) and waits
                               for `systemctl is-system-running --wait` (running or degraded).
    .run(cmd, check=True, timeout=600, input=None, env=None, cwd=None) -> Result
                               runs cmd (argv list, or a string for /bin/sh -c) inside, as root,
                               with a clean environment (PATH, LANG=C.UTF-8, HOME=/root,
                               DEBIAN_FRONTEND=noninteractive, plus env). stdout/stderr go to files
                               under the container's state dir; Result has rc, stdout, stderr, argv.
                               check=True raises CommandFailed (with the output's tail) on rc != 0;
                               on timeout the command's process group is killed, CommandTimeout.
    .spawn(cmd, env=None) -> subprocess.Popen
                               a command left running (output to files); stop it with .terminate().
    .host_path(path) -> Path   where a container path lives on the host (no symlink resolution).
    .copy_in(src, dest, mode=None) / .write_file(dest, text, mode=0o644) / .read_file(path)
    .leader                    the leader's pid on the host, .pidns its pid-namespace inode.
    .ip                        the container's address on its Network, else None.
    .poweroff(timeout=60)      clean shutdown; falls back to SIGTERM then SIGKILL of every
                               process in the container's pid namespace.
    .destroy()                 poweroff if running, unmount, remove the state dir and nspawn locks.
    .state_dir                 per-container directory (console.log, command outputs).

prefetch(root, packages, local_debs=(), update_max_age_s=21600)
    Downloads `packages` (and the dependencies of `local_debs`, files on the host) with their
    dependencies into the shared apt caches of `root`, in a short-lived host-network container
    (apt-get update runs only when the cached lists are older than update_max_age_s). A later
    private-network container with apt_cache=True then runs `apt-get install` without a network.

Network(name, subnet_index)
    A private network namespace holding a bridge 10.213.<subnet_index>.0/24 (the bridge is .1).
    Containers started with network=<Network> get a veth on it and the next free address; every
    container's /etc/hosts names all earlier ones. `.exec_argv()` prefixes a host command to run
    inside that namespace (e.g. an Ansible controller). `.destroy()` deletes it; also a context
    manager.

cleanup_stale()
    Tears down containers and networks whose owning process is gone (a killed test run), and
    removes nspawn locks nobody holds. Called by Container.boot(); safe to call any time.

install_signal_cleanup()
    Turns SIGTERM/SIGHUP/SIGINT into SystemExit so context managers and finally blocks clean up.

Command line (for debugging): /usr/bin/python3 tests/system/container.py root [--rebuild] |
run [--private] CMD... | cleanup
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

RECIPE_VERSION = 2
SUITE = "bookworm"
VARIANT = "minbase"
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "ca-certificates")
DEFAULT_MIRROR = "http://deb.debian.org/debian"

CACHE_DIR = Path(os.environ.get("OTELDEMO_CONTAINER_CACHE", "/var/cache/oteldemo-ci/nspawn"))
STATE_DIR = Path(os.environ.get("OTELDEMO_CONTAINER_STATE", "/var/tmp/oteldemo-containers"))
NSPAWN_LOCKS = Path("/run/systemd/nspawn/locks")
NETNS_DIR = Path("/run/netns")

CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Host apt.conf.d settings worth copying: how to reach the mirror, not how the host cleans up.
APT_CONF_WANTED = re.compile(r"(?i)proxy|check-valid-until|check-date|valid-time")
MACHINE_NAME_MAX = 64  # nspawn's limit on --machine=
FORK_INSIDE = ["/bin/sh", "-c", '"$@"; exit $?', "sh"]


class ContainerError(RuntimeError):
    """A container could not be built, booted or cleaned up."""


class CommandFailed(ContainerError):
    def __init__(self, result: "Result"):
        self.result = result
        super().__init__(
            f"command failed with exit status {result.rc}: {shlex.join(result.argv)}\n"
            f"--- stdout (tail) ---\n{_tail(result.stdout)}\n--- stderr (tail) ---\n{_tail(result.stderr)}"
        )


class CommandTimeout(ContainerError):
    pass


class Result:
    """The outcome of Container.run(): exit status and the whole output, decoded as UTF-8."""

    def __init__(self, argv, rc, stdout, stderr, out_path, err_path):
        self.argv = list(argv)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.out_path = out_path
        self.err_path = err_path

    def __repr__(self):
        return f"Result(rc={self.rc}, argv={self.argv!r})"


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _log(msg: str) -> None:
    print(f"container: {msg}", file=sys.stderr, flush=True)


def _run_host(argv, check=True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, stdin=subprocess.DEVNULL, **kw)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _flock(path: Path, mode=fcntl.LOCK_EX):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield fd
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------------------
# Host set-up and the cached root


APT_SERIAL_LOCK = "/run/lock/oteldemo-apt.lock"  # scripts/lib.sh's APT_SERIAL_LOCK


def ensure_host_tools() -> None:
    missing = [p for p, exe in (("debootstrap", "debootstrap"), ("systemd-container", "systemd-nspawn"))
               if shutil.which(exe) is None]
    if not missing:
        return
    _log(f"installing host tools: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # After the other apt-gets of our scripts (scripts/lib.sh, apt_get: the same lock file), which
    # .ci/run starts beside this one on a fresh machine; dpkg's own lock is waited for too.
    apt = ["flock", "-w", "600", APT_SERIAL_LOCK, "apt-get", "-o", "DPkg::Lock::Timeout=600"]
    _run_host([*apt, "update", "-q"], env=env, stdout=subprocess.DEVNULL)
    _run_host([*apt, "install", "-y", "-q", "--no-install-recommends", *missing], env=env,
              stdout=subprocess.DEVNULL)


def _host_mirror() -> str:
    """The Debian mirror the host's apt uses for the main archive (deb822 or one-line sources)."""
    for src in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in src.read_text().split("\n\n"):
            fields = dict(re.findall(r"(?m)^([A-Za-z-]+):\s*(.*)$", stanza))
            if SUITE in fields.get("Suites", "").split() and "deb" in fields.get("Types", ""):
                return fields.get("URIs", DEFAULT_MIRROR).split()[0]
    with contextlib.suppress(OSError):
        for line in Path("/etc/apt/sources.list").read_text().splitlines():
            m = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", line)
            if m:
                return m.group(1)
    return DEFAULT_MIRROR


class Root:
    """One built debootstrap root: `path` (never written once built) and its recipe `key`."""

    def __init__(self, key: str, path: Path, packages: tuple):
        self.key = key
        self.path = path
        self.packages = packages

    @property
    def apt_cache(self) -> Path:
        """Shared apt lists and archives for containers over this recipe (see prefetch())."""
        return CACHE_DIR / "apt" / self.key

    def __repr__(self):
        return f"Root({self.path})"


def _recipe(include) -> dict:
    packages = tuple(sorted(set(BASE_PACKAGES) | set(include)))
    return {"version": RECIPE_VERSION, "suite": SUITE, "variant": VARIANT, "packages": packages}


def _recipe_key(recipe: dict) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def ensure_root(include=(), rebuild=False, max_age_days=7) -> Root:
    recipe = _recipe(include)
    key = _recipe_key(recipe)
    base = CACHE_DIR / "roots"
    current = base / key
    stamp = current / ".oteldemo-root.json"
    rebuild = rebuild or os.environ.get("OTELDEMO_ROOT_REBUILD") == "1"
    with _flock(base / f"{key}.lock"):
        info = _read_json(stamp)
        fresh = info is not None and time.time() - info.get("built", 0) < max_age_days * 86400
        if fresh and not rebuild:
            return Root(key, current, recipe["packages"])
        ensure_host_tools()
        building = base / f"{key}.build-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        t0 = time.monotonic()
        _log(f"building Debian {SUITE} {VARIANT} root {key} (packages: {' '.join(recipe['packages'])})")
        try:
            _debootstrap(building, recipe)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        (building / ".oteldemo-root.json").write_text(json.dumps(dict(recipe, built=time.time())))
        # A container may still run over the old tree (overlay lower dir): move it aside and
        # remove it only once no container holds its shared lock.
        if current.exists():
            old = base / f"{key}.old-{int(time.time())}"
            current.rename(old)
        building.rename(current)
        _prune_old_roots(base)
        _log(f"root {key} built in {time.monotonic() - t0:.0f} s")
        return Root(key, current, recipe["packages"])


def _debootstrap(target: Path, recipe: dict) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    log = target.parent / f"{target.name}.log"
    with open(log, "wb") as out:
        rc = subprocess.run(
            ["debootstrap", f"--variant={recipe['variant']}", "--include=" + ",".join(recipe["packages"]),
             recipe["suite"], str(target), _host_mirror()],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise ContainerError(f"debootstrap failed ({rc}); last lines of {log}:\n{_tail(log.read_text(), 20)}")
    log.unlink()
    # Each boot gets its own machine id; no hostname baked in; no downloaded .debs kept.
    (target / "etc/machine-id").write_text("")
    with contextlib.suppress(FileNotFoundError):
        (target / "etc/hostname").unlink()
    for deb in (target / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    # debootstrap's one-line sources.list is replaced by the host's sources, and the root brought
    # up to date with them (updates, security): an upgrade of systemd inside a booted container
    # would re-execute PID 1, which does not survive that here.
    with contextlib.suppress(FileNotFoundError):
        (target / "etc/apt/sources.list").unlink()
    _copy_apt_config(target)
    with open(target.parent / f"{target.name}.upgrade.log", "wb") as out:
        rc = subprocess.run(
            ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", f"--directory={target}", "--pipe",
             "--", "/bin/sh", "-c", "apt-get update -q && apt-get dist-upgrade -y -q && apt-get clean"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive")).returncode
    log = target.parent / f"{target.name}.upgrade.log"
    if rc != 0:
        raise ContainerError(f"upgrading the root failed ({rc}):\n{_tail(log.read_text(), 20)}")
    log.unlink()
    shutil.rmtree(target / "var/lib/apt/lists", ignore_errors=True)
    (target / "var/lib/apt/lists/partial").mkdir(parents=True)


def _copy_apt_config(tree: Path) -> None:
    """Host apt sources (with their keyrings) and apt settings (proxy, validity) into tree."""
    apt = tree / "etc/apt"
    for src in [Path("/etc/apt/sources.list")] + sorted(Path("/etc/apt/sources.list.d").glob("*")):
        if src.is_file() and src.suffix in (".list", ".sources") and src.stat().st_size > 0:
            shutil.copy2(src, apt / src.relative_to("/etc/apt"))
            for keyring in re.findall(r"(?:Signed-By:|signed-by=)\s*(/\S+?)\]?(?:\s|$)", src.read_text()):
                dest = tree / keyring.lstrip("/")
                if Path(keyring).is_file() and not dest.exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(keyring, dest)
    for conf in [Path("/etc/apt/apt.conf")] + sorted(Path("/etc/apt/apt.conf.d").glob("*")):
        if conf.is_file() and APT_CONF_WANTED.search(conf.read_text(errors="replace")):
            shutil.copy2(conf, apt / conf.relative_to("/etc/apt"))


def _prune_old_roots(base: Path) -> None:
    for old in base.glob("*.old-*"):
        lock = base / f"{old.name}.inuse"
        try:
            with _flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB):
                shutil.rmtree(old, ignore_errors=True)
            lock.unlink(missing_ok=True)
        except BlockingIOError:
            pass


# ----------------------------------------------------------------------------------------------
# Networks: a bridge inside a private network namespace


class Network:
    """A private network namespace `odn<subnet_index>-<pid>` (one per test process: two runs on one
    machine do not collide) with bridge br0 at 10.213.<subnet_index>.1/24."""

    def __init__(self, name: str, subnet_index: int):
        if not 0 < subnet_index < 255:
            raise ValueError("subnet_index must be 1..254")
        self.name = name
        self.netns = f"odn{subnet_index}-{os.getpid()}"[:15]
        self.prefix = f"10.213.{subnet_index}"
        self.gateway = f"{self.prefix}.1"
        self.hosts: dict[str, str] = {}
        self._next = 10
        self._state = STATE_DIR / f"net-{self.netns}.json"
        self.create()

    def create(self) -> None:
        cleanup_stale()
        if (NETNS_DIR / self.netns).exists():
            raise ContainerError(f"network namespace {self.netns} exists already")
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        self._state.write_text(json.dumps({"owner": os.getpid(), "netns": self.netns}))
        _run_host(["ip", "netns", "add", self.netns])
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "link", "add", "br0", "type", "bridge"],
                    ["ip", "addr", "add", f"{self.gateway}/24", "dev", "br0"],
                    ["ip", "link", "set", "br0", "up"]):
            _run_host(self.exec_argv() + cmd)

    def exec_argv(self) -> list:
        # nsenter, not `ip netns exec`: that one remounts /sys and hides the cgroup tree nspawn needs.
        return ["nsenter", f"--net={NETNS_DIR / self.netns}", "--"]

    def allocate(self, hostname: str) -> str:
        addr = f"{self.prefix}.{self._next}"
        self._next += 1
        self.hosts[hostname] = addr
        return addr

    def destroy(self) -> None:
        _run_host(["ip", "netns", "delete", self.netns], check=False, stderr=subprocess.DEVNULL)
        self._state.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()


# ----------------------------------------------------------------------------------------------
# Containers


class Container:
    def __init__(self, name: str, root: Root, network="host", binds=(), apt_cache=True):
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,30}", name):
            raise ValueError(f"container name {name!r}: lower-case letters, digits and '-', up to 31")
        self.hostname = name
        self.name = f"od-{name}-{os.getpid()}-{int(time.time() * 1000) % 100000}"[:MACHINE_NAME_MAX]
        self.root = root
        self.network = network
        self.binds = [tuple(b) for b in binds]
        self.apt_cache = apt_cache
        self.state_dir = STATE_DIR / self.name
        self.merged = self.state_dir / "root"
        self.ip = None
        self.leader = None
        self.pidns = None
        self._nspawn = None
        self._overlay = False
        self._inuse_fd = None
        self._seq = 0

    # -- life cycle ------------------------------------------------------------------------

    def __enter__(self):
        try:
            self.boot()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc):
        self.destroy()

    def boot(self, timeout: float = 60) -> None:
        cleanup_stale()
        t0 = time.monotonic()
        self.state_dir.mkdir(parents=True)
        self._save_state()
        # Shared lock: ensure_root() does not delete this tree while we run over it.
        self._inuse_fd = os.open(self.root.path.parent / f"{self.root.path.name}.inuse",
                                 os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(self._inuse_fd, fcntl.LOCK_SH)
        self._make_tree()
        self._configure_tree()
        argv = ["systemd-nspawn", "--quiet", "--boot", "--keep-unit", "--register=no",
                f"--directory={self.merged}", f"--machine={self.name}", f"--hostname={self.hostname}",
                "--console=read-only", "--link-journal=no", "--timezone=off"]
        if self.network == "private":
            argv.append("--private-network")
        elif isinstance(self.network, Network):
            argv = self.network.exec_argv() + argv + ["--network-bridge=br0"]
            self.ip = self.network.allocate(self.hostname)
        elif self.network != "host":
            raise ValueError(f"network {self.network!r}: 'host', 'private' or a Network")
        if self.apt_cache == "shared":
            cache = self.root.apt_cache
            argv += [f"--bind={cache / 'archives'}:/var/cache/apt/archives",
                     f"--bind={cache / 'lists'}:/var/lib/apt/lists"]
        for bind in self.binds:
            opt = "--bind-ro" if len(bind) > 2 and bind[2] == "ro" else "--bind"
            argv.append(f"{opt}={bind[0]}:{bind[1]}")
        with open(self.state_dir / "console.log", "wb") as console:
            self._nspawn = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self._save_state()
        self._wait_leader(t0 + timeout)
        self._save_state()
        if isinstance(self.network, Network):
            self._configure_network()
        self._wait_booted(t0 + timeout)
        _log(f"{self.name} booted in {time.monotonic() - t0:.1f} s (leader {self.leader})")

    def _make_tree(self) -> None:
        upper, work = self.state_dir / "upper", self.state_dir / "work"
        for d in (upper, work, self.merged):
            d.mkdir()
        if self.apt_cache:
            cache = self.root.apt_cache
            for sub in ("archives/partial", "lists/partial"):
                (cache / sub).mkdir(parents=True, exist_ok=True)
            if self.apt_cache != "shared":
                # A hard-linked snapshot in the upper dir: the container's apt locks and cleans its
                # own copy, and concurrent containers do not wait on each other's lock.
                for sub, inside in (("archives", "var/cache/apt"), ("lists", "var/lib/apt")):
                    (upper / inside).mkdir(parents=True, exist_ok=True)
                    _run_host(["cp", "-al", str(cache / sub), str(upper / inside)])
                    # apt's lock files are fcntl-locked: a hard link shares the inode, and so the
                    # lock, with every other snapshot. Each copy gets its own.
                    for lock in (upper / inside / sub).rglob("lock"):
                        lock.unlink()
        opts = f"lowerdir={self.root.path},upperdir={upper},workdir={work}"
        r = _run_host(["mount", "-t", "overlay", "overlay", "-o", opts, str(self.merged)], check=False,
                      stderr=subprocess.PIPE, text=True)
        if r.returncode == 0:
            self._overlay = True
            self._save_state()
            return
        _log(f"overlay mount failed ({r.stderr.strip()}); copying the root")
        _run_host(["cp", "-a", "--reflink=auto", f"{self.root.path}/.", str(self.merged)])

    def _configure_tree(self) -> None:
        """Host apt sources and settings, extra CA certificates; nothing else from the host."""
        _copy_apt_config(self.merged)
        cas = Path("/usr/local/share/ca-certificates")
        if cas.is_dir() and any(cas.iterdir()):
            shutil.copytree(cas, self.host_path(cas), dirs_exist_ok=True)
            _run_host(["chroot", str(self.merged), "update-ca-certificates"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL)

    def _wait_leader(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self._nspawn.poll() is not None:
                raise ContainerError(f"systemd-nspawn exited with {self._nspawn.returncode}; "
                                     f"console:\n{_tail(self.console_log(), 30)}")
            leader = _find_leader(self._nspawn.pid)
            if leader is not None:
                with contextlib.suppress(OSError):
                    if Path(f"/proc/{leader}/comm").read_text().strip() == "systemd":
                        self.leader = leader
                        self.pidns = os.stat(f"/proc/{leader}/ns/pid").st_ino
                        return
            time.sleep(0.05)
        raise ContainerError(f"{self.name}: no systemd leader within the timeout")

    def _wait_booted(self, deadline: float) -> None:
        last = None
        while time.monotonic() < deadline:
            remaining = max(1.0, deadline - time.monotonic())
            try:
                last = self.run(["systemctl", "is-system-running", "--wait"], check=False, timeout=remaining)
            except CommandTimeout:
                break
            state = last.stdout.strip()
            if state in ("running", "degraded"):
                if state == "degraded":
                    failed = self.run(["systemctl", "--failed", "--no-legend", "--plain"], check=False)
                    _log(f"{self.name} is degraded: {failed.stdout.strip()}")
                return
            # "offline" also means "no manager to ask yet": right after the leader appears, systemctl
            # may run before PID 1 has opened its private socket (seen on a loaded machine): retry.
            if state in ("stopping", "maintenance"):
                break
            time.sleep(0.1)
        raise ContainerError(f"{self.name} did not finish booting (last state: "
                             f"{last.stdout.strip() if last else 'none'}); console:\n{_tail(self.console_log(), 30)}")

    def _configure_network(self) -> None:
        """Address, route and /etc/hosts for a container on a Network (host tools, its netns)."""
        net = self.network
        enter = ["nsenter", f"--target={self.leader}", "--net", "--"]
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "addr", "add", f"{self.ip}/24", "dev", "host0"],
                    ["ip", "link", "set", "host0", "up"],
                    ["ip", "route", "add", "default", "via", net.gateway]):
            _run_host(enter + cmd)
        hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        hosts += "".join(f"{addr}\t{host}\n" for host, addr in net.hosts.items())
        self.write_file("/etc/hosts", hosts)

    def poweroff(self, timeout: float = 60) -> None:
        if self._nspawn is None or self._nspawn.poll() is not None:
            return
        if self.leader is not None:
            # SIGRTMIN+4 asks systemd for poweroff without needing a working bus or nsenter.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.leader, signal.SIGRTMIN + 4)
        try:
            self._nspawn.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            _log(f"{self.name}: poweroff timed out; terminating")
        with contextlib.suppress(ProcessLookupError):
            self._nspawn.terminate()
        try:
            self._nspawn.wait(10)
        except subprocess.TimeoutExpired:
            self._nspawn.kill()
            self._nspawn.wait()

    def destroy(self) -> None:
        try:
            self.poweroff()
        finally:
            _teardown(self.state_dir, _read_json(self.state_dir / "state.json") or {})
            if self._inuse_fd is not None:
                os.close(self._inuse_fd)
                self._inuse_fd = None
            self._nspawn = None
            self.leader = None

    def _save_state(self) -> None:
        state = {"owner": os.getpid(), "name": self.name, "merged": str(self.merged),
                 "overlay": self._overlay, "nspawn": self._nspawn.pid if self._nspawn else None,
                 "leader": self.leader, "pidns": self.pidns}
        (self.state_dir / "state.json").write_text(json.dumps(state))

    def console_log(self) -> str:
        try:
            return (self.state_dir / "console.log").read_text(errors="replace")
        except OSError:
            return ""

    # -- commands and files ----------------------------------------------------------------

    def _argv(self, cmd, env, cwd) -> list:
        if self.leader is None:
            raise ContainerError(f"{self.name} is not running")
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else [str(a) for a in cmd]
        environment = {"PATH": CONTAINER_PATH, "LANG": "C.UTF-8", "HOME": "/root", "TERM": "dumb",
                       "DEBIAN_FRONTEND": "noninteractive"}
        environment.update(env or {})
        prefix = ["nsenter", f"--target={self.leader}", "--all", "--no-fork", "--root", "--wd", "--",
                  "/usr/bin/env", "-i"]
        if cwd:
            prefix.append(f"--chdir={cwd}")
        # With -F, nsenter's own process stays in the host's pid namespace; only its children are
        # in the container's. A shell that forks the command puts it inside (systemd drops bus
        # peers whose pid it cannot see).
        return prefix + [f"{k}={v}" for k, v in environment.items()] + FORK_INSIDE + argv, argv

    def _output_files(self):
        self._seq += 1
        out_dir = self.state_dir / "out"
        out_dir.mkdir(exist_ok=True)
        return out_dir / f"{self._seq:04d}.out", out_dir / f"{self._seq:04d}.err"

    def run(self, cmd, check=True, timeout: float = 600, input=None, env=None, cwd=None) -> Result:
        full, argv = self._argv(cmd, env, cwd)
        out_path, err_path = self._output_files()
        stdin = subprocess.DEVNULL
        if input is not None:
            in_path = out_path.with_suffix(".in")
            in_path.write_bytes(input.encode() if isinstance(input, str) else input)
            stdin = open(in_path, "rb")
        try:
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen(full, stdin=stdin, stdout=out, stderr=err, start_new_session=True)
                try:
                    rc = proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    _kill_group(proc)
                    raise CommandTimeout(f"{self.name}: timed out after {timeout:.0f} s: {shlex.join(argv)}")
                except BaseException:
                    _kill_group(proc)
                    raise
        finally:
            if stdin is not subprocess.DEVNULL:
                stdin.close()
        result = Result(argv, rc, out_path.read_text(errors="replace"), err_path.read_text(errors="replace"),
                        out_path, err_path)
        if check and rc != 0:
            raise CommandFailed(result)
        return result

    def spawn(self, cmd, env=None) -> subprocess.Popen:
        full, _ = self._argv(cmd, env, None)
        out_path, err_path = self._output_files()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
        proc.out_path, proc.err_path = out_path, err_path
        return proc

    def host_path(self, path) -> Path:
        return self.merged / str(path).lstrip("/")

    def copy_in(self, src, dest, mode=None) -> None:
        target = self.host_path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        if Path(src).is_dir():
            shutil.copytree(src, target, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target)
            if mode is not None:
                target.chmod(mode)

    def write_file(self, dest, text: str, mode: int = 0o644) -> None:
        target = self.host_path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if target.is_symlink():
                target.unlink()
        target.write_text(text)
        target.chmod(mode)

    def read_file(self, path) -> str:
        return self.host_path(path).read_text(errors="replace")


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _children(pid: int) -> list:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _find_leader(nspawn_pid: int):
    """The descendant of nspawn that is PID 1 of its own pid namespace."""
    todo = [nspawn_pid]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        m = re.search(r"(?m)^NSpid:\s+(.*)$", status)
        if m and pid != nspawn_pid:
            ids = m.group(1).split()
            if len(ids) >= 2 and ids[-1] == "1":
                return pid
        todo.extend(_children(pid))
    return None


def _pids_in_pidns(pidns: int) -> list:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(entry / "ns/pid").st_ino == pidns:
                    pids.append(int(entry.name))
    return pids


def _teardown(state_dir: Path, state: dict) -> None:
    """Kills what is left of one container, unmounts its tree, removes its dir and locks."""
    nspawn = state.get("nspawn")
    if nspawn and _pid_alive(nspawn) and _is_nspawn(nspawn):
        with contextlib.suppress(ProcessLookupError):
            os.kill(nspawn, signal.SIGKILL)
    pidns = state.get("pidns")
    if pidns:
        for _ in range(50):
            pids = _pids_in_pidns(pidns)
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
    merged = state_dir / "root"
    if os.path.ismount(merged):
        r = _run_host(["umount", str(merged)], check=False, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            _run_host(["umount", "--lazy", str(merged)], check=False)
    if state.get("name"):
        (NSPAWN_LOCKS / f"machine-{state['name']}").unlink(missing_ok=True)
    if not os.path.ismount(merged):
        shutil.rmtree(state_dir, ignore_errors=True)
        if state_dir.exists():  # a dying process still wrote into it: once more, then say so
            time.sleep(1)
            shutil.rmtree(state_dir, ignore_errors=True)
        if state_dir.exists():
            _log(f"could not remove all of {state_dir} (cleanup_stale() retries)")
    _remove_unheld_locks()


def _is_nspawn(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "systemd-nspawn"
    except OSError:
        return False


# struct flock for a write lock on the whole file (x86_64 layout: l_type, l_whence, l_start, l_len,
# l_pid, padding); l_pid must be 0 for open-file-description locks.
_OFD_WRITE_LOCK = struct.pack("hhqqixxxx", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)


def _remove_unheld_locks() -> None:
    """Removes the lock files that no running nspawn holds. systemd takes them as open-file-description
    locks (/proc/locks: OFDLCK), which flock() does not see: only an OFD lock of our own tells."""
    if not NSPAWN_LOCKS.is_dir():
        return
    for lock in NSPAWN_LOCKS.iterdir():
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _OFD_WRITE_LOCK)
            lock.unlink(missing_ok=True)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
        finally:
            os.close(fd)


def cleanup_stale() -> None:
    if not STATE_DIR.is_dir():
        _remove_unheld_locks()
        return
    for entry in STATE_DIR.iterdir():
        if entry.is_dir():
            state = _read_json(entry / "state.json") or {}
            owner = state.get("owner")
            if owner is None or (owner != os.getpid() and not _pid_alive(owner)):
                _log(f"removing stale container {entry.name}")
                _teardown(entry, state)
        elif entry.name.startswith("net-") and entry.suffix == ".json":
            state = _read_json(entry) or {}
            owner = state.get("owner")
            if owner is None or (owner != os.getpid() and not _pid_alive(owner)):
                _log(f"removing stale network {state.get('netns')}")
                if state.get("netns"):
                    _run_host(["ip", "netns", "delete", state["netns"]], check=False,
                              stderr=subprocess.DEVNULL)
                entry.unlink(missing_ok=True)
    _remove_unheld_locks()


def prefetch(root: Root, packages=(), local_debs=(), update_max_age_s: float = 6 * 3600) -> None:
    """Fills root.apt_cache with `packages` and the dependencies of `local_debs` (host files)."""
    lists = root.apt_cache / "lists"
    binds = []
    debs = []
    for i, deb in enumerate(local_debs):
        debs.append(f"/run/prefetch/{i}/{Path(deb).name}")
        binds.append((str(Path(deb).resolve()), debs[-1], "ro"))
    with _flock(root.apt_cache.parent / f"{root.key}.prefetch.lock"):
        with Container("prefetch", root, network="host", binds=binds, apt_cache="shared") as c:
            stamp = lists / ".oteldemo-updated"
            if not stamp.exists() or time.time() - stamp.stat().st_mtime > update_max_age_s:
                c.run(["apt-get", "update", "-q"], timeout=600)
                c.write_file("/var/lib/apt/lists/.oteldemo-updated", "")
            c.run(["apt-get", "install", "-y", "-q", "--download-only", *packages, *debs], timeout=1200)


def install_signal_cleanup() -> None:
    def handler(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, handler)


def _main(argv) -> int:
    install_signal_cleanup()
    if not argv or argv[0] not in ("root", "run", "cleanup"):
        print(__doc__.split("Command line")[1].strip(), file=sys.stderr)
        return 2
    if argv[0] == "cleanup":
        cleanup_stale()
        return 0
    if argv[0] == "root":
        print(ensure_root(rebuild="--rebuild" in argv[1:]).path)
        return 0
    args = argv[1:]
    network = "host"
    if args and args[0] == "--private":
        network, args = "private", args[1:]
    with Container("debug", ensure_root(), network=network) as c:
        r = c.run(args or ["systemctl", "is-system-running"], check=False)
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        return r.rc


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
