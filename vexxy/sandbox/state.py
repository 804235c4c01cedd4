"""Where sandboxes keep their state, and the labels that find whatever a killed run left behind.

Every sandbox has an id whose first six characters name its instance (a hash of the state
directory, so two `VEXXY_HOME`s on one host never touch each other's sandboxes); everything it
creates carries the id: the runc container `vexxy-<id>` (annotated), the network namespace
`vexxy-<id>` and host veth `vxh<id12>`, the cgroup `/vexxy/<id>`, the mounts under `runs/<id>/`
and the container's root at `/run/vexxy/<instance>/<id>` (a path the container's unprivileged
root user can reach), and a state file naming the process (and its start time, against pid
reuse) and the Dagster run that own it. Whoever removes a sandbox it does not own leaves a note
saying why, so the owner fails with that reason instead of reporting a shortened observation.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import BinaryIO

CONTAINER_PREFIX = "vexxy-"
CGROUP_PARENT = "vexxy"
CGROUP_ROOT = Path("/sys/fs/cgroup")
INSTANCE_CHARS = 6


def instance_id(state_dir: Path) -> str:
    """The instance a state directory belongs to, as it prefixes every sandbox id it creates."""
    return hashlib.sha256(str(Path(state_dir).expanduser().resolve()).encode()).hexdigest()[:INSTANCE_CHARS]


ROOTFS_MOUNTS = Path("/run/vexxy")
# A run directory holds the bundle config (the workload's environment: its secret values) and the workload's log.
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def private_dir(path: Path) -> Path:
    """`path` created readable by its owner only (its parents as they are); the mode holds before anything is in it,
    whatever the umask."""
    path.mkdir(mode=PRIVATE_DIR)
    os.chmod(path, PRIVATE_DIR)  # the umask may have taken bits off; the directory is still empty
    return path


def private_file(path: Path, *, append: bool = False) -> BinaryIO:
    """`path` opened for writing, created readable by its owner only (never through a symlink; a new file
    unless `append`)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_APPEND if append else os.O_EXCL)
    return os.fdopen(os.open(path, flags, PRIVATE_FILE), "ab" if append else "wb")


@dataclass
class SandboxState:
    sandbox_id: str
    owner_pid: int
    run_dir: str
    image: str
    started_at: float
    owner_start: int = 0  # the owner's start time in clock ticks since boot (tells a reused pid apart)
    run_id: str = ""  # the Dagster run analyzing the image, when there is one
    deadline: float = 0.0  # wall-clock time (epoch seconds) after which the sandbox is removed
    watchdog_pid: int = 0

    @property
    def container_id(self) -> str:
        return f"{CONTAINER_PREFIX}{self.sandbox_id}"


@dataclass(frozen=True)
class SandboxPaths:
    root: Path

    @property
    def instance(self) -> str:
        return instance_id(self.root)

    def new_sandbox_id(self) -> str:
        return self.instance + secrets.token_hex(5)

    def owns(self, sandbox_id: str) -> bool:
        return sandbox_id.startswith(self.instance)

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def states(self) -> Path:
        return self.root / "sandboxes"

    @property
    def runc_root(self) -> Path:
        return self.root / "runc"

    @property
    def roots(self) -> Path:
        """Where this state dir's sandboxes mount their root filesystems (traversable by any user)."""
        return ROOTFS_MOUNTS / instance_id(self.root)

    def rootfs_mount(self, sandbox_id: str) -> Path:
        return self.roots / sandbox_id

    def run_dir(self, sandbox_id: str) -> Path:
        return self.runs / sandbox_id

    def make_run_dir(self, sandbox_id: str) -> Path:
        """The sandbox's run directory, owner-only from the start, under a `runs` directory that is owner-only too."""
        self.runs.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        os.chmod(self.runs, PRIVATE_DIR)
        return private_dir(self.run_dir(sandbox_id))

    def state_file(self, sandbox_id: str) -> Path:
        return self.states / f"{sandbox_id}.json"

    def removal_note(self, sandbox_id: str) -> Path:
        return self.states / f"{sandbox_id}.removed"

    def note_removal(self, sandbox_id: str, reason: str) -> None:
        self.states.mkdir(parents=True, exist_ok=True)
        self.removal_note(sandbox_id).write_text(reason)

    def removal_reason(self, sandbox_id: str) -> str | None:
        try:
            return self.removal_note(sandbox_id).read_text().strip() or "removed"
        except OSError:
            return None

    def read_state(self, sandbox_id: str) -> SandboxState | None:
        try:
            data = json.loads(self.state_file(sandbox_id).read_text())
            known = {f.name for f in fields(SandboxState)}
            return SandboxState(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError):
            return None

    def write_state(self, state: SandboxState) -> None:
        self.states.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file(state.sandbox_id).with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state)))
        os.replace(tmp, self.state_file(state.sandbox_id))

    def read_states(self) -> list[SandboxState]:
        paths = sorted(self.states.glob("*.json")) if self.states.exists() else []
        return [state for path in paths if (state := self.read_state(path.stem)) is not None]


def cgroup_dirs(sandbox_id: str | None = None, instance: str = "") -> list[Path]:
    """The sandbox's cgroup directories in every hierarchy (v1 controllers or the v2 tree); without
    an id, those of every sandbox whose id starts with `instance` ("" = every instance)."""
    found = []
    if not CGROUP_ROOT.exists():
        return found
    for hierarchy in [CGROUP_ROOT, *[p for p in CGROUP_ROOT.iterdir() if p.is_dir()]]:
        parent = hierarchy / CGROUP_PARENT
        if not parent.is_dir():
            continue
        if sandbox_id:
            if (parent / sandbox_id).is_dir():
                found.append(parent / sandbox_id)
        else:
            found.extend(p for p in parent.iterdir() if p.is_dir() and p.name.startswith(instance))
    return found


def pids_in_cgroups(sandbox_id: str | None = None, instance: str = "") -> set[int]:
    pids: set[int] = set()
    for directory in cgroup_dirs(sandbox_id, instance):
        for name in ("cgroup.procs", "tasks"):
            try:
                pids.update(int(line) for line in (directory / name).read_text().split() if line.strip())
            except OSError:
                continue
    return pids


def process_start(pid: int) -> int:
    """A running process's start time in clock ticks since boot (0 when it is gone or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return 0 if stat[0] in ("Z", "X") else int(stat[19])


def process_started_at(pid: int) -> float | None:
    """When a running process started, in epoch seconds (None when it is gone or a zombie)."""
    ticks = process_start(pid)
    if not ticks:
        return None
    with open("/proc/stat") as handle:
        boot = next(float(line.split()[1]) for line in handle if line.startswith("btime "))
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def owner_alive(pid: int, start: int = 0) -> bool:
    """Whether the process `pid` (started at `start`, when known) still runs; a zombie does not."""
    started = process_start(pid)
    return bool(started) and (not start or started == start)
