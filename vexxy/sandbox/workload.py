"""What the pipeline sees of a running sandbox, whichever backend runs it.

A backend (`session(image)`, a context manager whose exit removes everything it created) hands
out a `Workload`: where the workload can be reached, a way to mark that fuzzing started (paths
first seen from then on are counted as fuzzing coverage), where a web scanner must run to reach
it, and, at the end, the execution profile. The local runc backend and the Kubernetes backend
both implement it; the fuzzers and the sandbox step use nothing else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from vexxy.declared_route import DeclaredRoute
from vexxy.oci.image import ResolvedImage
from vexxy.sandbox.launch import Launch
from vexxy.sandbox.profile import ExecutionProfile, Readiness


@dataclass(frozen=True)
class ScannerPlacement:
    """Where a scanner reaches the workload from: the host to address and how to start a scanner process
    there (a command prefix, e.g. entering a network namespace; empty when the scanner runs as it is)."""

    host: str
    command_prefix: tuple[str, ...] = field(default=())

    def wrap(self, command: list[str]) -> list[str]:
        return [*self.command_prefix, *command]


@runtime_checkable
class Workload(Protocol):
    @property
    def address(self) -> str:
        """The host a prober reaches the workload at."""

    @property
    def ports(self) -> list[int]:
        """The TCP ports the image exposes."""

    @property
    def readiness(self) -> Readiness: ...

    def mark_fuzzing_started(self) -> None:
        """From now on, newly seen paths count as reached by fuzzing."""

    def scanner_placement(self) -> ScannerPlacement:
        """Prepare (once) and say where a web scanner process must run to reach the workload."""

    def observe(self, during: Callable[[Workload], None] | None = None) -> ExecutionProfile:
        """Watch the workload for the observation window while `during` drives it; the profile at the end."""

    def symlinks(self) -> dict[str, str]:
        """The image's symbolic links (`/path` -> target), to canonicalize profile paths."""

    def notes(self) -> list[str]:
        """What an operator should know about this run (unsafe links clamped, ...)."""

    def declared_routes(self, within: float = 10.0) -> tuple[list[DeclaredRoute], list[str]]:
        """HTTP routes the image's first-party code declares (never read through the traced workload), and what
        could not be read; taking at most about `within` seconds."""


class SandboxBackend(Protocol):
    def session(
        self, image: ResolvedImage, log: Callable[[str], None], launch: Launch | None = None
    ) -> AbstractContextManager[Workload]:
        """Start `image` (as `launch`, a configured role, overrides) and wait for readiness; leaving the context
        removes everything created."""


def run_alongside(during: Callable | None, workload) -> tuple[threading.Thread | None, list[BaseException]]:
    """Start `during(workload)` beside the observation (a scanner driving the workload); what it raises is kept
    in the returned list for the backend to report with the profile, never fatal to the observation."""
    errors: list[BaseException] = []
    if during is None:
        return None, errors

    def run() -> None:
        try:
            during(workload)
        except BaseException as exc:
            errors.append(exc)

    helper = threading.Thread(target=run, name="vexxy-during", daemon=True)
    helper.start()
    return helper, errors
