"""The running sandbox handed to the code inside a session (e.g. a web scanner): the local `Workload`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vexxy.declared_route import DeclaredRoute
from vexxy.oci.layers.unpack import UnpackReport
from vexxy.sandbox.local.run import LocalRun
from vexxy.sandbox.network import SandboxNetwork
from vexxy.sandbox.profile import ExecutionProfile, Readiness
from vexxy.sandbox.tracer import FileTracer
from vexxy.sandbox.workload import ScannerPlacement


@dataclass
class LocalWorkload:
    """A running sandbox, handed to the code inside the session (e.g. a web scanner)."""

    sandbox_id: str
    address: str
    ports: list[int]
    readiness: Readiness
    tracer: FileTracer
    network: SandboxNetwork
    rootfs: Path  # the container's root (the run's overlay)
    run: LocalRun  # the run's parts (its container, run directory, ...), which observe it
    image_symlinks: dict[str, str] = field(default_factory=dict)  # read from the image before the workload ran
    unpack: UnpackReport = field(default_factory=UnpackReport)
    code_routes: tuple[list[DeclaredRoute], list[str]] = ([], [])  # read from the image before the workload ran

    @classmethod
    def of(cls, run: LocalRun) -> LocalWorkload:
        """The workload of a started run."""
        return cls(
            run.sandbox_id,
            run.network.sandbox_address,
            run.ports,
            run.readiness,
            run.tracer,
            run.network,
            run.rootfs,
            run,
            run.symlinks,
            code_routes=run.routes,
        )

    def mark_phase(self, phase: str) -> None:
        """Label paths first seen from now on (e.g. 'fuzzing'), for coverage figures."""
        self.tracer.phase = phase

    # --- the backend-neutral workload (vexxy.sandbox.workload.Workload) ----------------------

    def mark_fuzzing_started(self) -> None:
        self.mark_phase("fuzzing")

    def scanner_placement(self) -> ScannerPlacement:
        """A scanner runs in a network namespace of its own that reaches only this sandbox."""
        host = self.network.scan_address or self.network.attach_scanner()
        return ScannerPlacement(host, ("ip", "netns", "exec", self.network.scanner_netns))

    def observe(self, during: Callable[[LocalWorkload], None] | None = None) -> ExecutionProfile:
        return self.run.observer.observe(self, during)

    def symlinks(self) -> dict[str, str]:
        return self.image_symlinks

    def declared_routes(self, within: float = 10.0) -> tuple[list[DeclaredRoute], list[str]]:
        return self.code_routes  # read before the workload started

    def notes(self) -> list[str]:
        notes = [f"symlink pointing outside the image root (resolved inside it): {link}" for link in self.unpack.clamped_links]
        return notes + [f"device node not created: {path}" for path in self.unpack.skipped_devices]
