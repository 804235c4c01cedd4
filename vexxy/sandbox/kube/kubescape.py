"""Kubescape's learned profile of a container, read into vexxy's execution profile.

Kubescape's node agent records each container's execs, opens, syscalls, endpoints and
capabilities into an `ApplicationProfile` (one entry per container) or a `ContainerProfile`
(one container) of `spdx.softwarecomposition.kubescape.io/v1beta1`, and says how far it got in
two annotations: `kubescape.io/status` (learning ... ready ... completed, or a failure such as
too-large) and `kubescape.io/completion` (complete, or partial when the agent did not see the
container from its start). Learning ends after the node agent's `maxSniffingTimePerContainer`,
which the kubescape-operator chart sets as `nodeAgent.config.maxLearningPeriod`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from vexxy.errors import VexxyError
from vexxy.sandbox.profile import COMPLETION, STATUS

GROUP = "spdx.softwarecomposition.kubescape.io"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
WORKLOAD_KIND_LABEL = "kubescape.io/workload-kind"
WORKLOAD_NAME_LABEL = "kubescape.io/workload-name"
WORKLOAD_NAMESPACE_LABEL = "kubescape.io/workload-namespace"
COMPLETED, READY, LEARNING, INITIALIZING = "completed", "ready", "learning", "initializing"
PARTIAL, COMPLETE = "partial", "complete"
LEARNING_SETTING = "nodeAgent.config.maxLearningPeriod"
NODE_AGENT_CONFIG_KEY = "config.json"
DYNAMIC_SEGMENT = "\u22ef"  # Kubescape's "⋯": a path segment collapsed because too many siblings were seen

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class KubescapeError(VexxyError):
    """Kubescape cannot give this analysis a profile (absent, or configured to learn too long)."""


def go_duration_seconds(text: str) -> float:
    """A Go duration string ("24h", "1m30s", "500ms") in seconds."""
    text = (text or "").strip()
    if text in ("0", ""):
        return 0.0
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def learning_seconds(node_agent_config: dict[str, str]) -> float | None:
    """The node agent's learning period from its ConfigMap data, or None when it does not say."""
    raw = node_agent_config.get(NODE_AGENT_CONFIG_KEY)
    if not raw:
        return None
    try:
        value = json.loads(raw).get("maxSniffingTimePerContainer")
        return go_duration_seconds(str(value)) if value else None
    except (ValueError, AttributeError):
        return None


def check_learning_period(learning: float | None, window_seconds: float) -> None:
    if learning is not None and learning > window_seconds:
        raise KubescapeError(
            f"Kubescape's node agent learns each container for {learning:.0f} s, longer than the "
            f"{window_seconds:.0f} s observation window: the profile would never complete in time.",
            hint=f"Install the kubescape-operator chart with --set {LEARNING_SETTING}={int(window_seconds)}s "
            f"(at most the observation window), or lengthen the observation window.",
        )


def absent_error(namespace: str) -> KubescapeError:
    return KubescapeError(
        f"Kubescape is not installed in this cluster: the API group {API_VERSION} is not served, so "
        f"no execution profile can be read for workloads in {namespace}.",
        hint="Install the kubescape-operator chart with capabilities.runtimeObservability=enable "
        f"and {LEARNING_SETTING} at most the observation window; see docs/kubernetes.md ('Deploying on Kubernetes').",
    )


@dataclass
class ProfileSnapshot:
    """One read of the container's profile."""

    name: str
    status: str
    completion: str
    execs: list[dict[str, Any]] = field(default_factory=list)
    opens: list[dict[str, Any]] = field(default_factory=list)
    syscalls: list[str] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """Nothing more will be learned: completed, or a terminal status other than learning/ready."""
        return self.status not in (READY, LEARNING, INITIALIZING, "")

    def paths(self) -> set[str]:
        return {o["path"] for o in self.opens} | {e["path"] for e in self.execs}


def _container_entry(obj: dict[str, Any], container: str) -> dict[str, Any] | None:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "ContainerProfile":
        return spec
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for entry in spec.get(group) or []:
            if isinstance(entry, dict) and entry.get("name") == container:
                return entry
    return None


def _strings(values: Any) -> list[str]:
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def read_profile(obj: dict[str, Any], container: str) -> ProfileSnapshot | None:
    """The container's entry of a Kubescape profile object; None when the object has no entry for it.

    Everything in it was written about an untrusted workload: paths and arguments are kept only
    when they are strings, and nothing else is interpreted."""
    entry = _container_entry(obj, container)
    if entry is None:
        return None
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    execs = [
        {"path": e["path"], "args": _strings(e.get("args"))}
        for e in entry.get("execs") or []
        if isinstance(e, dict) and isinstance(e.get("path"), str) and e["path"]
    ]
    opens = [
        {"path": o["path"], "flags": sorted(_strings(o.get("flags")))}
        for o in entry.get("opens") or []
        if isinstance(o, dict) and isinstance(o.get("path"), str) and o["path"]
    ]
    endpoints = [
        {k: v for k, v in e.items() if k in ("endpoint", "methods", "internal", "direction")}
        for e in entry.get("endpoints") or []
        if isinstance(e, dict) and isinstance(e.get("endpoint"), str)
    ]
    return ProfileSnapshot(
        name=(obj.get("metadata") or {}).get("name", ""),
        status=str(annotations.get(STATUS, "")),
        completion=str(annotations.get(COMPLETION, "")),
        execs=_merge(execs),
        opens=_merge(opens),
        syscalls=sorted(set(_strings(entry.get("syscalls")))),
        endpoints=endpoints,
        capabilities=sorted(set(_strings(entry.get("capabilities")))),
    )


def _merge(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per path (Kubescape lists an exec once per distinct argument list)."""
    merged: dict[str, dict[str, Any]] = {}
    for entry in entries:
        kept = merged.setdefault(entry["path"], entry)
        if kept is not entry and "flags" in entry:
            kept["flags"] = sorted(set(kept["flags"]) | set(entry["flags"]))
    return [merged[path] for path in sorted(merged)]


def incompleteness(snapshot: ProfileSnapshot | None, learning: float | None, window_seconds: float) -> str:
    """Why the profile cannot be trusted to list everything the workload loaded ("" when it can)."""
    if snapshot is None:
        return (
            "Kubescape wrote no profile for the workload within the observation window; is the node agent "
            "running with capabilities.runtimeObservability=enable on the workload's node?"
        )
    if snapshot.status != COMPLETED:
        if snapshot.status in (READY, LEARNING, INITIALIZING, ""):
            period = f"{learning:.0f} s" if learning is not None else "its configured period"
            return (
                f"Kubescape was still learning the workload when the observation ended "
                f"({STATUS}: {snapshot.status or 'unset'}; learning period {period}, window {window_seconds:.0f} s); "
                f"set {LEARNING_SETTING} of the kubescape-operator chart to at most the window"
            )
        return f"Kubescape could not finish the profile ({STATUS}: {snapshot.status})"
    if snapshot.completion == PARTIAL:
        return (
            f"Kubescape's profile is partial ({COMPLETION}: partial): the node agent did not watch the container from its start"
        )
    if any(DYNAMIC_SEGMENT in o["path"] for o in snapshot.opens):
        return "Kubescape collapsed some opened paths into directory patterns (⋯), so not every file is named"
    return ""
