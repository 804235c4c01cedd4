"""What an operator sets for the local sandbox: where it keeps its state, its runtime, limits and time budgets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vexxy import settings
from vexxy.sandbox.runtime_spec import Limits


@dataclass(frozen=True)
class SandboxSettings:
    state_dir: Path
    cache_dir: Path
    runtime: str = "runc"
    limits: Limits = Limits()
    observation_seconds: float = settings.DEFAULT_OBSERVATION_SECONDS
    quiet_seconds: float = 10.0
    readiness_timeout: float = 30.0
    readiness_probe: str = "tcp"  # tcp: connect to every exposed TCP port; alive: the process runs
    max_restarts: int = 2
    max_rootfs_bytes: int = 4 << 30
    max_entries: int = 65_536
    max_cache_bytes: int = 10 << 30
    max_cache_entries: int = 1_000_000
    trace: bool = True  # False only to measure the tracer's cost
    hard_limit_seconds: float = 0.0  # the watchdog removes the sandbox after this long; 0 = derived from the rest

    @property
    def hard_limit(self) -> float:
        """Readiness (with restarts), the observation window, and a minute for the scanner and teardown."""
        if self.hard_limit_seconds:
            return self.hard_limit_seconds
        return self.readiness_timeout * (self.max_restarts + 1) + 2.0 * self.max_restarts + self.observation_seconds + 60
