"""`LocalSandbox`: a session around one run, whose exit (or a terminating signal) stops and removes it all.

`session(image)` checks the host, sweeps sandboxes killed runs left behind, records the run's state
and spawns its watchdog (which removes the sandbox if this process dies), then starts the run
(see run.py); leaving the session, however that happens, stops the workload and tears
everything down.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from vexxy.oci.image import ResolvedImage
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox import watchdog
from vexxy.sandbox.clock import SYSTEM_CLOCK, Clock
from vexxy.sandbox.image_store import ImageStore, PreparedImage, StoreLimits
from vexxy.sandbox.launch import Launch, launched
from vexxy.sandbox.local.errors import SandboxError
from vexxy.sandbox.local.run import LocalRun, RouteReader
from vexxy.sandbox.local.running import LocalWorkload
from vexxy.sandbox.local.settings import SandboxSettings
from vexxy.sandbox.profile import ExecutionProfile
from vexxy.sandbox.state import SandboxPaths, SandboxState, process_start
from vexxy.sandbox.sweep import sweep, teardown

# Host programs the sandbox runs besides its OCI runtime (scripts/setup installs each one that is missing).
HOST_TOOLS = ("ip", "nft", "sysctl", "mount", "umount")


class LocalSandbox:
    def __init__(
        self,
        settings: SandboxSettings,
        client: RegistryClient,
        run_id: str = "",
        read_routes: RouteReader | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ):
        """`run_id` names the Dagster run its sandboxes serve, so a daemon can remove them once that run ends;
        `read_routes` reads the image's declared routes before its workload starts (None: none are read);
        `clock` is what the run's waits and timings read."""
        self.clock = clock
        self.run_id = run_id
        self.read_routes = read_routes
        self.settings = settings
        self.paths = SandboxPaths(Path(settings.state_dir))
        self.images = ImageStore(
            Path(settings.cache_dir),
            client,
            StoreLimits(settings.max_rootfs_bytes, settings.max_entries, settings.max_cache_bytes, settings.max_cache_entries),
        )

    def _require_tools(self) -> None:
        if os.geteuid() != 0:
            raise SandboxError("The local sandbox must run as root (it mounts, creates namespaces and runs runc).")
        for tool in (self.settings.runtime, *HOST_TOOLS):
            if not shutil.which(tool):
                raise SandboxError(
                    f"`{tool}` is not installed; the local sandbox needs it.",
                    hint="Run scripts/setup, which installs runc, iproute2, nftables and procps.",
                )

    @contextlib.contextmanager
    def session(
        self, image: ResolvedImage, log: Callable[[str], None] = lambda message: None, launch: Launch | None = None
    ) -> Iterator[LocalWorkload]:
        """`launch` (a role of an analysis configuration) overrides how the image runs and when it is ready."""
        self._require_tools()
        image = launched(image, launch)
        if launch is not None and launch.readiness is not None and launch.readiness.timeout_seconds:
            # The role's own readiness timeout, which the watchdog's hard limit must allow for too.
            self.settings = replace(self.settings, readiness_timeout=float(launch.readiness.timeout_seconds))
        swept = sweep(self.paths, self.settings.runtime)
        if swept:
            log(f"Removed {len(swept)} sandbox(es) left behind by killed runs: {', '.join(swept)}")
        sandbox_id = self.paths.new_sandbox_id()
        with self.images.prepared(image, sandbox_id) as prepared:
            yield from self._session(image, sandbox_id, prepared, launch)

    def _session(
        self, image: ResolvedImage, sandbox_id: str, prepared: PreparedImage, launch: Launch | None = None
    ) -> Iterator[LocalWorkload]:
        run_dir = self.paths.run_dir(sandbox_id)
        now = self.clock.wall()
        state = SandboxState(
            sandbox_id,
            os.getpid(),
            str(run_dir),
            image.canonical,
            now,
            owner_start=process_start(os.getpid()),
            run_id=self.run_id,
            deadline=now + self.settings.hard_limit,
        )
        self.paths.write_state(state)
        run = LocalRun(self.paths, self.settings, sandbox_id, image, prepared.layers, self.read_routes, launch, self.clock)
        previous_handler = None
        if threading.current_thread() is threading.main_thread():
            # A terminated run gets SIGTERM: turn it into an exception so the finally below runs.
            previous_handler = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            state.watchdog_pid = watchdog.spawn(self.paths, sandbox_id, self.settings.runtime)
            watchdog_start = process_start(state.watchdog_pid)
            self.paths.write_state(state)
            run.start()
            workload = LocalWorkload.of(run)
            workload.unpack = prepared.report
            yield workload
        finally:
            try:
                run.stop()
            finally:
                teardown(self.paths, sandbox_id, self.settings.runtime)
                if state.watchdog_pid:
                    watchdog.stop(state.watchdog_pid, watchdog_start)
                if previous_handler is not None:
                    signal.signal(signal.SIGTERM, previous_handler)

    def observe(self, workload: LocalWorkload, during: Callable[[LocalWorkload], None] | None = None) -> ExecutionProfile:
        """Watch the workload for the observation window (ending early once quiet); `during` runs alongside."""
        return workload.observe(during)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"received signal {signum}")
