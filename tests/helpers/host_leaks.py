"""The whole host before and after a sandbox test, and what the test left behind.

A sandbox that leaks is not always named after vexxy: a stray `runc run` child, a scanner
process outside the sandbox's cgroup, a mount, a network namespace or link, a cgroup, or a file
under the state or cache directory. A snapshot therefore reads the host as a whole (every
process, mount, named network namespace, host link and cgroup directory, every file under the
two directories) and every inspection command must succeed: a failing `ip` or `runc` is an
error, never "nothing found".

Other work on the host (another test run, a build) also starts and stops processes. A new process
counts as left behind when it is tied to this test: a descendant or process-group member of the
test process, in another network namespace or a vexxy cgroup, or naming the state or cache directory
(or runc) in its command line. Sandbox tests run one at a time on a host (the heavy-test lock), so
mounts, namespaces, links and cgroups that appear during a test are its own.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
# Made once per host by the first sandbox and meant to stay: the cgroup parent of all sandboxes and
# iproute2's shared mount of /run/netns.
PERMANENT = {"cgroups": ("vexxy",), "mounts": ("/run/netns",)}
WORK_IN_PROGRESS = (".fetch-", ".unpack-", ".tmp")  # prefixes of the image store's temporary entries


class InspectionFailed(AssertionError):
    """An inspection command failed: the host's state is unknown, which is not the same as clean."""


@dataclass(frozen=True)
class Process:
    pid: int
    started: int  # clock ticks since boot: a reused pid is another process
    ppid: int
    group: int  # process group: children keep the test's unless they leave it on purpose
    command: str
    net_namespace: str
    cgroup: str


@dataclass(frozen=True)
class HostSnapshot:
    processes: dict[tuple[int, int], Process] = field(default_factory=dict)
    mounts: frozenset[str] = frozenset()
    netns: frozenset[str] = frozenset()
    links: frozenset[str] = frozenset()
    cgroups: frozenset[str] = frozenset()
    containers: frozenset[str] = frozenset()
    files: frozenset[str] = frozenset()


def _run(*command: str) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InspectionFailed(f"{' '.join(command)} could not run: {exc}") from exc
    if result.returncode != 0:
        raise InspectionFailed(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[:300]}")
    return result.stdout


def _process(pid: int) -> Process | None:
    base = Path("/proc") / str(pid)
    try:
        stat = (base / "stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
        command = (base / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        cgroup = (base / "cgroup").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None  # exited while being read
    try:
        net = os.readlink(base / "ns" / "net")
    except PermissionError:
        net = ""  # a process this one may not inspect (another container's init): namespace unknown
    except (FileNotFoundError, ProcessLookupError):
        return None
    return Process(pid, int(fields[19]), int(fields[1]), int(fields[2]), command, net, cgroup)


def _processes() -> dict[tuple[int, int], Process]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (process := _process(int(entry.name))) is not None:
            found[(process.pid, process.started)] = process
    if not found:
        raise InspectionFailed("/proc lists no processes")
    return found


def _mounts() -> frozenset[str]:
    with open("/proc/self/mountinfo") as handle:
        points = {line.split()[4].replace("\\040", " ") for line in handle}
    if not points:
        raise InspectionFailed("/proc/self/mountinfo is empty")
    return frozenset(points)


def _unreadable(error: OSError) -> None:
    """A directory that vanished while walked was removed (by this test or other work); any other
    error leaves part of the tree unread, which os.walk alone would pass over in silence."""
    if not isinstance(error, FileNotFoundError):
        raise InspectionFailed(f"{error.filename} could not be read: {error.strerror or error}") from error


def _cgroups() -> frozenset[str]:
    if not CGROUP_ROOT.is_dir():
        raise InspectionFailed(f"{CGROUP_ROOT} is not mounted")
    found = set()
    for root, dirs, _files in os.walk(CGROUP_ROOT, onerror=_unreadable):
        found.update(os.path.join(root, d) for d in dirs)
    return frozenset(found)


def _files(directories: list[Path]) -> frozenset[str]:
    found = set()
    for directory in directories:
        if directory.exists():
            for root, dirs, files in os.walk(directory, onerror=_unreadable):
                found.update(os.path.join(root, name) for name in dirs + files)
    return frozenset(found)


def _containers(runc_roots: list[Path]) -> frozenset[str]:
    found = set()
    for root in runc_roots:
        if root.exists():
            listed = json.loads(_run("runc", "--root", str(root), "list", "--format", "json") or "null") or []
            found.update(f"{root}:{c['id']}" for c in listed)
    return frozenset(found)


def snapshot(state_dir: Path, cache_dir: Path) -> HostSnapshot:
    """Everything a sandbox could leave on this host."""
    return HostSnapshot(
        processes=_processes(),
        mounts=_mounts(),
        netns=frozenset(line.split()[0] for line in _run("ip", "netns", "list").splitlines() if line.strip()),
        links=frozenset(link["ifname"] for link in json.loads(_run("ip", "-j", "link", "show") or "[]")),
        cgroups=_cgroups(),
        containers=_containers([state_dir / "runc", *sorted(state_dir.glob("*/runc"))]),
        files=_files([state_dir, cache_dir]),
    )


def _tied_to_test(process: Process, test: Process, directories: list[Path]) -> bool:
    other_namespace = process.net_namespace and process.net_namespace != test.net_namespace
    if process.group == test.group or other_namespace or "vexxy" in process.cgroup:
        return True
    if "runc" in process.command or any(str(d) in process.command for d in directories):
        return True
    parent, seen = process.ppid, set()
    while parent > 1 and parent not in seen:
        if parent == test.pid:
            return True
        seen.add(parent)
        found = _process(parent)
        if found is None:
            return False
        parent = found.ppid
    return False


def left_behind(before: HostSnapshot, after: HostSnapshot, state_dir: Path, cache_dir: Path) -> dict[str, list[str]]:
    """What is on the host now that was not before the test (empty lists: nothing)."""
    test = _process(os.getpid())
    directories = [state_dir, cache_dir]
    processes = [
        f"{p.pid} {p.command[:200]}"
        for key, p in sorted(after.processes.items())
        if key not in before.processes and p.pid != test.pid and _process(p.pid) and _tied_to_test(p, test, directories)
    ]
    return {
        "processes": processes,
        "mounts": sorted(m for m in after.mounts - before.mounts if m not in PERMANENT["mounts"]),
        "netns": sorted(after.netns - before.netns),
        "links": sorted(after.links - before.links),
        "cgroups": sorted(c for c in after.cgroups - before.cgroups if not _permanent_cgroup(c)),
        "containers": sorted(after.containers - before.containers),
        "files": [f for f in sorted(after.files - before.files) if _leaked_file(f, state_dir, cache_dir)],
    }


def _permanent_cgroup(path: str) -> bool:
    parts = Path(path).relative_to(CGROUP_ROOT).parts
    return len(parts) <= 2 and parts[-1] in PERMANENT["cgroups"]  # /sys/fs/cgroup[/<controller>]/vexxy


def _leaked_file(path: str, state_dir: Path, cache_dir: Path) -> bool:
    """The state directory keeps at most its empty top-level skeleton (runs/, runc/...); the cache may
    keep complete entries (root filesystems with their own dot-files), never work in progress (partial
    downloads, half-unpacked layers)."""
    for directory in (cache_dir, state_dir):
        if path.startswith(f"{directory}{os.sep}"):
            parts = Path(path[len(str(directory)) + 1 :]).parts
            if directory == cache_dir:
                return any(part.startswith(WORK_IN_PROGRESS) or part.endswith((".tmp", ".partial")) for part in parts)
            return len(parts) > 1 or not os.path.isdir(path)
    return True


def assert_nothing_left(before: HostSnapshot, state_dir: Path, cache_dir: Path, what: str = "the test") -> None:
    leaks = left_behind(before, snapshot(state_dir, cache_dir), state_dir, cache_dir)
    assert not any(leaks.values()), f"{what} left this on the host: { {k: v for k, v in leaks.items() if v} }"
