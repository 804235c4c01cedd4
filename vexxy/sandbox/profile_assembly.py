"""The end of an observation, the same for every backend: whether the profile is complete, and its common fields.

Completeness is decided in one order: a workload that never became ready first; then what the backend saw go
wrong while it watched (the local backend: a failing exit or the tracer's queue overflowing; Kubernetes: the pod
stopping or Kubescape's profile unfinished); then a process killed for exceeding the memory limit.
"""

from __future__ import annotations

from typing import Any

from vexxy.sandbox.profile import ExecutionProfile, Readiness

OUT_OF_MEMORY = "a process was killed for exceeding the memory limit"


def completeness(readiness: Readiness, backend_reason: str, resource_events: list[str]) -> tuple[bool, str]:
    """Whether the profile lists everything the workload did, and if not, the first reason why.

    `backend_reason` is what the backend saw go wrong while it watched ("" when nothing)."""
    if readiness.outcome != "ready":
        return False, f"the workload never became ready ({readiness.outcome}: {readiness.detail})"
    if backend_reason:
        return False, backend_reason
    if any("out of memory" in event for event in resource_events):
        return False, OUT_OF_MEMORY
    return True, ""


def assemble_profile(
    *,
    image: str,
    backend: str,
    readiness: Readiness,
    window_seconds: float,
    observed_seconds: float,
    ended_by: str,
    backend_reason: str,
    resource_events: list[str],
    **observed: Any,
) -> ExecutionProfile:
    """The profile of one observation; `observed` holds what only the backend sees (opens, execs, listening, ...)."""
    complete, reason = completeness(readiness, backend_reason, resource_events)
    return ExecutionProfile(
        image=image,
        backend=backend,
        readiness=readiness,
        window_seconds=window_seconds,
        observed_seconds=observed_seconds,
        ended_by=ended_by,
        complete=complete,
        incomplete_reason=reason,
        resource_events=list(resource_events),
        **observed,
    )
