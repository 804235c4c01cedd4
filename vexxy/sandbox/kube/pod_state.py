"""What a pod's status says about the workload, in the local backend's readiness vocabulary.

Image pull failures and configuration errors are `failed_to_start`, a container restarting
past the allowed count (or in CrashLoopBackOff) is `crash_loop`, a pod that ran to an end is
`exited`; OOM kills become resource events like the local backend's cgroup counters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable")
CONFIG_FAILURES = ("CreateContainerConfigError", "CreateContainerError", "RunContainerError")


@dataclass
class PodState:
    outcome: str | None  # ready | exited | crash_loop | failed_to_start | None (not decided yet)
    detail: str = ""
    exit_code: int | None = None
    restarts: int = 0
    resource_events: list[str] = field(default_factory=list)
    waiting_for: str = ""  # why it is not ready yet (for a timeout's message)


def _container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == name:
            return status
    return {}


def _condition(pod: dict[str, Any], kind: str) -> dict[str, Any]:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return {}


def classify(pod: dict[str, Any], container: str, max_restarts: int, memory_mb: int, completes: bool = False) -> PodState:
    """`completes`: the workload is a job, for which running to a clean end (phase Succeeded) is what ready means."""
    status = pod.get("status") or {}
    phase = status.get("phase", "Pending")
    entry = _container(pod, container)
    restarts = int(entry.get("restartCount") or 0)
    state, last = entry.get("state") or {}, entry.get("lastState") or {}
    waiting, terminated = state.get("waiting") or {}, state.get("terminated") or {}
    last_terminated = last.get("terminated") or {}
    events = []
    if "OOMKilled" in (terminated.get("reason"), last_terminated.get("reason")):
        events.append(f"out of memory (limit {memory_mb} MiB): the kernel killed a process")
    ended = terminated or last_terminated
    code = ended.get("exitCode")
    reason = waiting.get("reason", "")
    if reason in PULL_FAILURES:
        return PodState(
            "failed_to_start",
            f"the image could not be pulled ({reason}): {waiting.get('message', '').strip() or 'no detail'}",
            restarts=restarts,
        )
    if reason in CONFIG_FAILURES:
        return PodState("failed_to_start", f"the container could not be created ({reason}): {waiting.get('message', '')}")
    if reason == "CrashLoopBackOff" or restarts > max_restarts:
        why = f" ({ended['reason']})" if ended.get("reason") else ""
        return PodState(
            "crash_loop",
            f"the workload exited with code {code}{why} {restarts + 1} times in a row",
            code,
            restarts,
            events,
        )
    if completes and phase == "Succeeded" and code == 0:
        return PodState("ready", "the workload ran to completion (exit code 0)", 0, restarts, events)
    if phase in ("Succeeded", "Failed"):
        return PodState("exited", f"the pod ended ({phase}) with code {code}", code, restarts, events)
    ready = _condition(pod, "Ready").get("status") == "True"
    if ready and state.get("running") is not None:
        return PodState("ready", "the pod is Ready", restarts=restarts, resource_events=events)
    scheduled = _condition(pod, "PodScheduled")
    if scheduled.get("status") == "False":
        waiting_for = f"not scheduled ({scheduled.get('reason', '')}: {scheduled.get('message', '')})"
    elif reason:
        waiting_for = f"container waiting ({reason})"
    else:
        waiting_for = f"pod {phase}, not Ready"
    return PodState(None, restarts=restarts, resource_events=events, waiting_for=waiting_for)
