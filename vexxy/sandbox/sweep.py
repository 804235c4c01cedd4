"""Tear down sandboxes: one on its way out, or whatever killed runs left behind (found by label).

Everything here is scoped to one instance (the state directory's): a sweep never looks at, let
alone removes, another instance's containers, namespaces, links, cgroups or processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from vexxy.sandbox.network import NETNS_PREFIX, SCANNER_SUFFIX, destroy_network, leftover_networks
from vexxy.sandbox.state import CONTAINER_PREFIX, SandboxPaths, SandboxState, cgroup_dirs, owner_alive, pids_in_cgroups

# A removed sandbox whose owner still runs: how long the note saying why is kept for it to read.
NOTE_GRACE_SECONDS = 3600


def _runc(paths: SandboxPaths, runtime: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([runtime, "--root", str(paths.runc_root), *args], capture_output=True, text=True)


def runc_containers(paths: SandboxPaths, runtime: str = "runc") -> list[str]:
    if not paths.runc_root.exists():
        return []
    result = _runc(paths, runtime, "list", "--format", "json")
    try:
        mine = CONTAINER_PREFIX + paths.instance
        return [c["id"] for c in json.loads(result.stdout or "null") or [] if c["id"].startswith(mine)]
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


def teardown(paths: SandboxPaths, sandbox_id: str, runtime: str = "runc", *, keep_note: bool = False) -> None:
    """Remove everything the sandbox `sandbox_id` created; each step tolerates what is already gone.
    `keep_note` leaves the removal note for an owner that still has to read why."""
    container = f"{CONTAINER_PREFIX}{sandbox_id}"
    if paths.runc_root.exists():
        _runc(paths, runtime, "kill", "--all", container, "KILL")
    kill_cgroup_processes(sandbox_id)
    if paths.runc_root.exists():
        _runc(paths, runtime, "delete", "--force", container)
    unmount_all(paths.rootfs_mount(sandbox_id))  # the overlay first: its upper dir is on the run's tmpfs
    with contextlib.suppress(OSError):
        paths.rootfs_mount(sandbox_id).rmdir()
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
    if not keep_note:
        paths.removal_note(sandbox_id).unlink(missing_ok=True)


def remove(paths: SandboxPaths, sandbox_id: str, reason: str, runtime: str = "runc") -> None:
    """Tear down a sandbox on behalf of someone other than its owner; an owner still running
    finds `reason` and fails its analysis with it."""
    state = paths.read_state(sandbox_id)
    owner_running = state is not None and owner_alive(state.owner_pid, state.owner_start)
    if owner_running:
        paths.note_removal(sandbox_id, reason)
    teardown(paths, sandbox_id, runtime, keep_note=owner_running)


def why_remove(state: SandboxState, now: float, run_alive: Callable[[str], bool] | None = None) -> str | None:
    """Why a sandbox must go (its owner or its run is gone, or it is past its deadline); None if it may stay."""
    if not owner_alive(state.owner_pid, state.owner_start):
        return f"its analysis process (pid {state.owner_pid}) is gone"
    if state.deadline and now > state.deadline:
        return f"it ran past its hard wall-clock limit ({state.deadline - state.started_at:.0f} s)"
    if run_alive is not None and state.run_id and not run_alive(state.run_id):
        return f"its run {state.run_id} is no longer running"
    return None


def sweep(
    paths: SandboxPaths,
    runtime: str = "runc",
    *,
    only_orphans: bool = True,
    run_alive: Callable[[str], bool] | None = None,
    reason: str = "removed by a sweep of every sandbox",
) -> list[str]:
    """Tear down this instance's sandboxes that must go (see `why_remove`), or all of them; returns their ids.

    Objects of this instance that no state file claims (a run killed before writing it, or one
    whose state was lost) are removed too; other instances' objects are never looked at."""
    now = time.time()
    found = {s.sandbox_id for s in paths.read_states()}
    found |= {c[len(CONTAINER_PREFIX) :] for c in runc_containers(paths, runtime)}
    namespaces, _links = leftover_networks(paths.instance)
    found |= {n[len(NETNS_PREFIX) :].removesuffix(SCANNER_SUFFIX) for n in namespaces}
    found |= {p.name for p in cgroup_dirs(instance=paths.instance)}
    for directory in (paths.runs, paths.roots):
        if directory.exists():
            found |= {p.name for p in directory.iterdir() if p.is_dir()}
    cleaned = []
    for sandbox_id in sorted(i for i in found if paths.owns(i)):
        state = paths.read_state(sandbox_id)  # read now: a session may have started since the listing
        why = "unclaimed by any analysis" if state is None else reason if not only_orphans else why_remove(state, now, run_alive)
        if why:
            remove(paths, sandbox_id, why, runtime)
            cleaned.append(sandbox_id)
    _expire_notes(paths, now)
    return cleaned


def _expire_notes(paths: SandboxPaths, now: float) -> None:
    for note in paths.states.glob("*.removed") if paths.states.exists() else []:
        try:
            if now - note.stat().st_mtime > NOTE_GRACE_SECONDS:
                note.unlink()
        except OSError:
            continue


def leftovers(paths: SandboxPaths, runtime: str = "runc", *, every_instance: bool = False) -> dict[str, list]:
    """Everything of this instance's sandboxes still present (of every instance's, for the host-wide
    kinds, with `every_instance`); all empty after a clean teardown."""
    instance = "" if every_instance else paths.instance
    namespaces, links = leftover_networks(instance)
    return {
        "containers": runc_containers(paths, runtime),
        "processes": sorted(pids_in_cgroups(instance=instance)),
        "mounts": [*(mounts_under(paths.runs) if paths.runs.exists() else []), *mounts_under(paths.roots)],
        "root_mount_points": [p.name for p in paths.roots.iterdir()] if paths.roots.exists() else [],
        "netns": namespaces,
        "veths": links,
        "cgroups": [str(p) for p in cgroup_dirs(instance=instance)],
        "run_dirs": [p.name for p in paths.runs.iterdir()] if paths.runs.exists() else [],
        "state_files": [p.name for p in paths.states.glob("*.json")] if paths.states.exists() else [],
    }
