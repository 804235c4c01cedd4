"""Where sandboxes keep their state, and the labels that find whatever a killed run left behind.

Every sandbox has an id; everything it creates carries it: the runc container `vexxy-<id>`
(annotated), the network namespace `vexxy-<id>` and host veth `vxh<id8>`, the cgroup
`/vexxy/<id>`, the mounts under `runs/<id>/`, and a state file naming the process that owns it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

CONTAINER_PREFIX = "vexxy-"
CGROUP_PARENT = "vexxy"
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass
class SandboxState:
    sandbox_id: str
    owner_pid: int
    run_dir: str
    image: str
    started_at: float

    @property
    def container_id(self) -> str:
        return f"{CONTAINER_PREFIX}{self.sandbox_id}"


@dataclass(frozen=True)
class SandboxPaths:
    root: Path

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def states(self) -> Path:
        return self.root / "sandboxes"

    @property
    def runc_root(self) -> Path:
        return self.root / "runc"

    def run_dir(self, sandbox_id: str) -> Path:
        return self.runs / sandbox_id

    def state_file(self, sandbox_id: str) -> Path:
        return self.states / f"{sandbox_id}.json"

    def write_state(self, state: SandboxState) -> None:
        self.states.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file(state.sandbox_id).with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state)))
        os.replace(tmp, self.state_file(state.sandbox_id))

    def read_states(self) -> list[SandboxState]:
        states = []
        for path in sorted(self.states.glob("*.json")) if self.states.exists() else []:
            try:
                states.append(SandboxState(**json.loads(path.read_text())))
            except (ValueError, TypeError):
                continue
        return states


def cgroup_dirs(sandbox_id: str | None = None) -> list[Path]:
    """The sandbox's cgroup directories in every hierarchy (v1 controllers or the v2 tree)."""
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
            found.extend(p for p in parent.iterdir() if p.is_dir())
    return found


def pids_in_cgroups(sandbox_id: str | None = None) -> set[int]:
    pids: set[int] = set()
    for directory in cgroup_dirs(sandbox_id):
        for name in ("cgroup.procs", "tasks"):
            try:
                pids.update(int(line) for line in (directory / name).read_text().split() if line.strip())
            except OSError:
                continue
    return pids


def owner_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
