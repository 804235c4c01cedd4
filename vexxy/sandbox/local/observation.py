"""Watching a ready workload for the observation window: the loop, the process scan, the sandbox still whole."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from vexxy.sandbox.clock import SYSTEM_CLOCK, Clock
from vexxy.sandbox.local.container import Container
from vexxy.sandbox.local.errors import SandboxRemoved
from vexxy.sandbox.local.procfs import listening
from vexxy.sandbox.local.resource_events import ResourceEvents
from vexxy.sandbox.local.settings import SandboxSettings
from vexxy.sandbox.network import SandboxNetwork
from vexxy.sandbox.profile import ExecutionProfile, Observation
from vexxy.sandbox.profile_assembly import assemble_profile
from vexxy.sandbox.runtime_spec import CAPABILITIES
from vexxy.sandbox.state import SandboxPaths, pids_in_cgroups
from vexxy.sandbox.tracer import FileTracer
from vexxy.sandbox.workload import Workload, run_alongside

BACKEND = "local-runc"


class Observer:
    """Observes one run: what it executes (with arguments), loads and refuses, until the window ends, it is
    quiet, or it exits; a sandbox removed from outside meanwhile fails the observation."""

    def __init__(
        self,
        paths: SandboxPaths,
        settings: SandboxSettings,
        sandbox_id: str,
        image: str,
        container: Container,
        tracer: FileTracer,
        network: SandboxNetwork,
        exit_codes: list[int],
        resource_events: ResourceEvents,
        clock: Clock = SYSTEM_CLOCK,
    ):
        self.paths, self.settings, self.sandbox_id, self.image = paths, settings, sandbox_id, image
        self.container, self.tracer, self.network = container, tracer, network
        self.exit_codes, self.resource_events = exit_codes, resource_events
        self.clock = clock
        self.exec_args: dict[str, list[str]] = {}

    def _scan_processes(self) -> None:
        tracer = self.tracer
        for pid in pids_in_cgroups(self.sandbox_id):
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            relative = tracer._relative(exe) if tracer else exe
            if relative and relative not in self.exec_args:
                self.exec_args[relative] = [a.decode(errors="replace") for a in args if a]

    def removed_reason(self) -> str | None:
        """Why the sandbox is no longer whole (someone else removed it or a part of it), or None."""
        paths = self.paths
        reason = paths.removal_reason(self.sandbox_id)
        if reason:
            return reason
        if not paths.state_file(self.sandbox_id).exists():
            return "its state file was deleted"
        if not os.path.ismount(paths.rootfs_mount(self.sandbox_id)):
            return "its root filesystem was unmounted"
        if self.network is not None and not os.path.exists(self.network.netns_path):
            return "its network namespace was deleted"
        if not self.container.expected:
            return None
        if not self.container.exists():
            return "its container was deleted"
        return None

    def _check_whole(self, observed_from: float) -> None:
        reason = self.removed_reason()
        if reason:
            raise SandboxRemoved(
                f"The sandbox of {self.image} was removed from outside after "
                f"{self.clock.monotonic() - observed_from:.1f} s of observation ({reason}); its profile would be "
                "incomplete, so the analysis fails instead.",
                hint="Run the analysis again; if it keeps happening, look for another process sweeping sandboxes "
                "or a hard wall-clock limit shorter than the observation.",
            )

    def observe(self, workload: Workload, during: Callable[[Workload], None] | None) -> ExecutionProfile:
        """`workload` is the one handed out for this run; `during` drives it in a thread of its own."""
        settings, tracer, container, resource_events = self.settings, self.tracer, self.container, self.resource_events
        readiness = workload.readiness
        observed_from = self.clock.monotonic()
        self._check_whole(observed_from)
        last_check = observed_from
        ended_by = "window"
        helper_error: list[BaseException] = []
        helper = None
        if readiness.outcome == "ready":
            helper, helper_error = run_alongside(during, workload)
            deadline = observed_from + settings.observation_seconds
            last_size = -1
            while self.clock.monotonic() < deadline:
                self._scan_processes()
                resource_events.note()
                size = tracer.snapshot_size()
                if size != last_size:
                    last_size = size
                if container.exited() is not None:
                    self._check_whole(observed_from)
                    self.exit_codes.append(container.process.returncode)
                    ended_by = "exited"
                    break
                if self.clock.monotonic() - last_check >= 1.0:
                    self._check_whole(observed_from)
                    last_check = self.clock.monotonic()
                helper_busy = helper is not None and helper.is_alive()
                quiet_for = self.clock.monotonic() - max(tracer.last_new_path, observed_from)
                if not helper_busy and quiet_for >= settings.quiet_seconds:
                    ended_by = "quiet"
                    break
                self.clock.sleep(0.2)
            if helper is not None:
                helper.join(timeout=max(0.0, deadline - self.clock.monotonic()) + 5)
        resource_events.note()
        tracer.drain()
        self._check_whole(observed_from)
        observed = round(self.clock.monotonic() - observed_from, 2)
        return assemble_profile(
            image=self.image,
            backend=BACKEND,
            readiness=readiness,
            window_seconds=settings.observation_seconds,
            observed_seconds=observed,
            ended_by=ended_by,
            backend_reason=self._incompleteness(ended_by),
            resource_events=resource_events.events,
            opens=[
                Observation(p, r.first_seen, r.count, r.phase, sorted(r.flags), identities=sorted(r.identities))
                for p, r in sorted(tracer.opens.items())
            ],
            execs=[
                Observation(p, r.first_seen, r.count, r.phase, ["exec"], self.exec_args.get(p, []), sorted(r.identities))
                for p, r in sorted(tracer.execs.items())
            ],
            identities={sha: found.to_dict() for sha, found in tracer.identities.items()},
            listening=listening(container.pid() or 0) if container.pid() else [],
            outbound_attempts=self.network.outbound_attempts(),
            capabilities=list(CAPABILITIES),
            limits=asdict(settings.limits),
            workload_log_tail=container.log_tail(),
        )

    def _incompleteness(self, ended_by: str) -> str:
        """What went wrong while the workload was watched ("" when nothing): a failing exit, lost tracer events."""
        if ended_by == "exited" and self.exit_codes and self.exit_codes[-1] != 0:
            return f"the workload exited with code {self.exit_codes[-1]} during observation"
        if self.tracer.overflowed:
            return "the tracer's event queue overflowed"
        return ""
