"""Sandbox backends: run an image, observe it, return its execution profile.

`SandboxResource` is the protocol every backend resource implements: the local runc backend
here, the Kubernetes backend (Kubescape's profile) in `sandbox_kubernetes.py`. Which one runs is
chosen in `environment.py`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from vexxy import settings as library
from vexxy.imports.routes import rootfs_routes
from vexxy.oci.image import ResolvedImage
from vexxy.sandbox.launch import Launch
from vexxy.sandbox.local.sandbox import LocalSandbox
from vexxy.sandbox.local.settings import SandboxSettings
from vexxy.sandbox.runtime_spec import Limits
from vexxy.sandbox.state import SandboxPaths
from vexxy.sandbox.sweep import sweep
from vexxy.sandbox.workload import SandboxBackend, Workload
from vexxy_pipelines.resources.registry import RegistryResource


@dataclass
class SandboxRun:
    profile: dict[str, Any]  # the execution profile (see vexxy.sandbox.profile)
    symlinks: dict[str, str]  # the image's symlinks, to canonicalize paths
    notes: list[str]  # what the backend wants an operator to know (unsafe links clamped, ...)


class SandboxResource(ConfigurableResource):
    """The protocol: run `image`, let `during` drive it while it is observed, return the profile.

    A backend resource supplies `backend()`, a context manager yielding a `SandboxBackend` whose
    sessions hand out backend-neutral `Workload`s; `run` is the same for every backend.
    """

    def backend(
        self, registry: RegistryResource, observation_seconds: int | None
    ) -> contextlib.AbstractContextManager[SandboxBackend]:
        raise NotImplementedError

    def sweep(self, run_alive: Callable[[str], bool]) -> list[str]:
        """Remove this instance's sandboxes that must go (their analysis or run ended, or they ran out of
        time); the ids removed. Called by the daemon on a timer."""
        raise NotImplementedError

    def run(
        self,
        image: ResolvedImage,
        registry: RegistryResource,
        log: Callable[[str], None],
        during: Callable[[Workload], None] | None = None,
        observation_seconds: int | None = None,
        launch: Launch | None = None,
    ) -> SandboxRun:
        """`launch`: one role of the analysis configuration (None: the image as it says to run)."""
        with (
            self.backend(registry, observation_seconds) as backend,
            backend.session(image, log=log, launch=launch) as workload,
        ):
            log(f"Workload {workload.readiness.outcome}: {workload.readiness.detail}")
            symlinks = workload.symlinks()
            profile = workload.observe(during)
            return SandboxRun(profile=profile.to_dict(), symlinks=symlinks, notes=workload.notes())


class LocalSandboxResource(SandboxResource):
    """The embedded default: runc on this host, a network namespace per run, a fanotify tracer."""

    state_dir: str = Field(description="Runtime state: run directories, runc state, sandbox state files.")
    cache_dir: str = Field(description="Unpacked image layers, one directory per verified diff_id, shared between images.")
    cache_mb: int = Field(default=10240, description="Unpacked layers kept for reuse; least recently used evicted past this.")
    cache_entries: int = Field(
        default=1_000_000, description="Files, directories and links the cached layers may hold; LRU evicted past this."
    )
    max_entries: int = Field(default=65536, description="Most files, directories and links one image may unpack to.")
    runtime: str = "runc"
    observation_seconds: int = Field(default=library.DEFAULT_OBSERVATION_SECONDS, description="Longest observation window.")
    quiet_seconds: int = Field(default=10, description="End early once no new file was seen for this long.")
    readiness_timeout_seconds: int = 30
    readiness_probe: str = Field(default="tcp", description="tcp (connect to every exposed port) or alive.")
    memory_mb: int = library.DEFAULT_SANDBOX_MEMORY_MB
    pids: int = 256
    cpu_millicores: int = library.DEFAULT_SANDBOX_CPU_MILLICORES
    writable_mb: int = library.DEFAULT_SANDBOX_WRITABLE_MB
    max_restarts: int = 2
    hard_limit_seconds: int = Field(
        default=0, description="The watchdog removes a sandbox running longer than this; 0 derives it from the windows."
    )
    _run_id: str = PrivateAttr(default="")

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # The sandbox records the run it serves, so the daemon's sweep can remove it once that run ends.
        self._run_id = context.run.run_id if context.run else ""

    def settings(self, observation_seconds: int | None = None) -> SandboxSettings:
        return SandboxSettings(
            state_dir=Path(self.state_dir),
            cache_dir=Path(self.cache_dir),
            runtime=self.runtime,
            limits=Limits(
                memory_bytes=self.memory_mb << 20,
                pids=self.pids,
                cpus=self.cpu_millicores / 1000,
                writable_bytes=self.writable_mb << 20,
            ),
            observation_seconds=observation_seconds or self.observation_seconds,
            quiet_seconds=self.quiet_seconds,
            readiness_timeout=self.readiness_timeout_seconds,
            readiness_probe=self.readiness_probe,
            max_restarts=self.max_restarts,
            hard_limit_seconds=self.hard_limit_seconds,
            max_entries=self.max_entries,
            max_cache_bytes=self.cache_mb << 20,
            max_cache_entries=self.cache_entries,
        )

    def sweep(self, run_alive: Callable[[str], bool]) -> list[str]:
        return sweep(SandboxPaths(Path(self.state_dir)), self.runtime, run_alive=run_alive)

    @contextlib.contextmanager
    def backend(self, registry, observation_seconds=None) -> Iterator[LocalSandbox]:
        client = registry.client()
        try:
            yield LocalSandbox(self.settings(observation_seconds), client, run_id=self._run_id, read_routes=rootfs_routes)
        finally:
            client.close()
