"""The execution profile: what a workload really did, in one schema for every sandbox backend.

The container entry mirrors Kubescape's ApplicationProfile (`execs[{path,args}]`,
`opens[{path,flags}]`, `endpoints`, `syscalls`, `capabilities`); vexxy adds first-seen times and
counts, the observation window, the readiness outcome, listening sockets, outbound attempts,
completeness (reported like Kubescape's `kubescape.io/completion` / `kubescape.io/status`
annotations) and a digest of the whole.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = "vexxy.dev/execution-profile/v1"
COMPLETION = "kubescape.io/completion"
STATUS = "kubescape.io/status"


@dataclass
class Readiness:
    outcome: str  # ready | exited | crash_loop | timeout | failed_to_start
    detail: str = ""
    seconds: float = 0.0
    exit_code: int | None = None
    restarts: int = 0


@dataclass
class Observation:
    path: str
    first_seen: float
    count: int
    phase: str = "idle"  # idle | fuzzing
    flags: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    identities: list[str] = field(default_factory=list)  # sha256 of each code content opened here (local tracer)

    def observed(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"first_seen": self.first_seen, "count": self.count, "phase": self.phase}
        if self.identities:
            entry["sha256"] = sorted(self.identities)
        return entry


@dataclass
class ExecutionProfile:
    image: str
    backend: str
    readiness: Readiness
    window_seconds: float
    observed_seconds: float
    ended_by: str  # quiet | window | exited | stopped
    complete: bool
    incomplete_reason: str
    opens: list[Observation]
    execs: list[Observation]
    listening: list[dict[str, Any]] = field(default_factory=list)
    outbound_attempts: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    syscalls: list[str] = field(default_factory=list)  # what the backend can see (Kubescape records them)
    capabilities: list[str] = field(default_factory=list)
    limits: dict[str, Any] = field(default_factory=dict)
    resource_events: list[str] = field(default_factory=list)  # e.g. "out of memory", "pids limit reached"
    workload_log_tail: str = ""
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha256 -> CodeIdentity of code opened

    def container_entry(self) -> dict[str, Any]:
        return {
            "name": "workload",
            "execs": [{"path": o.path, "args": o.args} for o in self.execs],
            "opens": [{"path": o.path, "flags": sorted(o.flags)} for o in self.opens],
            "endpoints": self.endpoints,
            "syscalls": self.syscalls,
            "capabilities": self.capabilities,
        }

    def to_dict(self) -> dict[str, Any]:
        body = {
            "schema": SCHEMA,
            "annotations": {
                COMPLETION: "complete" if self.complete else "partial",
                STATUS: "completed" if self.readiness.outcome == "ready" else self.readiness.outcome,
            },
            "image": self.image,
            "backend": self.backend,
            "container": self.container_entry(),
            "observations": {
                "opens": {o.path: o.observed() for o in self.opens},
                "execs": {o.path: o.observed() for o in self.execs},
            },
            **({"identities": dict(sorted(self.identities.items()))} if self.identities else {}),
            "readiness": asdict(self.readiness),
            "window": {
                "configured_seconds": self.window_seconds,
                "observed_seconds": self.observed_seconds,
                "ended_by": self.ended_by,
            },
            "complete": self.complete,
            "incomplete_reason": self.incomplete_reason,
            "listening": self.listening,
            "outbound_attempts": self.outbound_attempts,
            "limits": self.limits,
            "resource_events": self.resource_events,
            "workload_log_tail": self.workload_log_tail,
        }
        body["digest"] = profile_digest(body)
        return body


def profile_digest(body: dict[str, Any]) -> str:
    canonical = {k: v for k, v in body.items() if k != "digest"}
    return "sha256:" + hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
