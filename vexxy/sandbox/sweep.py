"""Tear down sandboxes: one on its way out, or whatever killed runs left behind (found by label)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from vexxy.sandbox.network import NETNS_PREFIX, SCANNER_SUFFIX, destroy_network, leftover_networks
from vexxy.sandbox.state import CONTAINER_PREFIX, SandboxPaths, cgroup_dirs, owner_alive, pids_in_cgroups


def _runc(paths: SandboxPaths, runtime: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([runtime, "--root", str(paths.runc_root), *args], capture_output=True, text=True)


def runc_containers(paths: SandboxPaths, runtime: str = "runc") -> list[str]:
    if not paths.runc_root.exists():
        return []
    result = _runc(paths, runtime, "list", "--format", "json")
    try:
        return [c["id"] for c in json.loads(result.stdout or "null") or [] if c["id"].startswith(CONTAINER_PREFIX)]
    except ValueError:
        return []


def mounts_under(directory: Path) -> list[str]:
    prefix = str(directory.resolve()) if directory.exists() else str(directory)
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return sorted(set(points), key=len, reverse=True)


def unmount_all(directory: Path) -> None:
    for _ in range(3):
        points = mounts_under(directory)
        if not points:
            return
        for point in points:
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)


def kill_cgroup_processes(sandbox_id: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = pids_in_cgroups(sandbox_id)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def teardown(paths: SandboxPaths, sandbox_id: str, runtime: str = "runc") -> None:
    """Remove everything the sandbox `sandbox_id` created; each step tolerates what is already gone."""
    container = f"{CONTAINER_PREFIX}{sandbox_id}"
    if paths.runc_root.exists():
        _runc(paths, runtime, "kill", "--all", container, "KILL")
    kill_cgroup_processes(sandbox_id)
    if paths.runc_root.exists():
        _runc(paths, runtime, "delete", "--force", container)
    unmount_all(paths.run_dir(sandbox_id))
    destroy_network(sandbox_id)
    for directory in sorted(cgroup_dirs(sandbox_id), key=lambda p: len(p.parts), reverse=True):
        for child in sorted((p for p in directory.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            try:
                child.rmdir()
            except OSError:
                pass
        try:
            directory.rmdir()
        except OSError:
            pass
    shutil.rmtree(paths.run_dir(sandbox_id), ignore_errors=True)
    paths.state_file(sandbox_id).unlink(missing_ok=True)


def sweep(paths: SandboxPaths, runtime: str = "runc", *, only_orphans: bool = True) -> list[str]:
    """Tear down sandboxes whose owning process is gone (or all of them); returns their ids."""
    states = paths.read_states()
    live = {s.sandbox_id for s in states if only_orphans and owner_alive(s.owner_pid)}
    found = {s.sandbox_id for s in states}
    found |= {c[len(CONTAINER_PREFIX) :] for c in runc_containers(paths, runtime)}
    namespaces, _links = leftover_networks()
    found |= {n[len(NETNS_PREFIX) :].removesuffix(SCANNER_SUFFIX) for n in namespaces}
    found |= {p.name for p in cgroup_dirs()}
    if paths.runs.exists():
        found |= {p.name for p in paths.runs.iterdir() if p.is_dir()}
    cleaned = sorted(found - live)
    for sandbox_id in cleaned:
        teardown(paths, sandbox_id, runtime)
    return cleaned


def leftovers(paths: SandboxPaths, runtime: str = "runc") -> dict[str, list]:
    """Everything of any sandbox still present; all empty after a clean teardown."""
    namespaces, links = leftover_networks()
    return {
        "containers": runc_containers(paths, runtime),
        "processes": sorted(pids_in_cgroups()),
        "mounts": mounts_under(paths.runs) if paths.runs.exists() else [],
        "netns": namespaces,
        "veths": links,
        "cgroups": [str(p) for p in cgroup_dirs()],
        "run_dirs": [p.name for p in paths.runs.iterdir()] if paths.runs.exists() else [],
        "state_files": [p.name for p in paths.states.glob("*.json")] if paths.states.exists() else [],
    }
