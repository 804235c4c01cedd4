"""What the kernel refused the workload, read from its cgroups and scratch space: each kind noted once."""

from __future__ import annotations

import os
from pathlib import Path

from vexxy.sandbox.runtime_spec import Limits
from vexxy.sandbox.state import cgroup_dirs


class ResourceEvents:
    """Out of memory, the pids limit reached, the writable space full: read whenever the run looks."""

    def __init__(self, sandbox_id: str, scratch: Path, limits: Limits):
        self.sandbox_id, self.scratch, self.limits = sandbox_id, scratch, limits
        self.events: list[str] = []

    def note(self) -> None:
        for directory in cgroup_dirs(self.sandbox_id):
            oom = directory / "memory.oom_control"
            if oom.exists() and "oom_kill 0" not in oom.read_text() and not any("out of memory" in e for e in self.events):
                self.events.append(f"out of memory (limit {self.limits.memory_bytes >> 20} MiB): the kernel killed a process")
            events = directory / "pids.events"
            if events.exists() and "max 0" not in events.read_text() and "pids limit" not in " ".join(self.events):
                self.events.append(f"pids limit reached ({self.limits.pids} processes): forks were refused")
        try:
            usage = os.statvfs(self.scratch)
            if usage.f_bavail == 0 and not any("writable space" in e for e in self.events):
                self.events.append(f"writable space full ({self.limits.writable_bytes >> 20} MiB)")
        except OSError:
            pass
