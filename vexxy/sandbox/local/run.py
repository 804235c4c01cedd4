"""One run of the local sandbox: its parts set up in order (root, tracer, network, bundle, workload) and stopped."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from vexxy.declared_route import DeclaredRoute
from vexxy.oci.image import ImageConfig, ResolvedImage
from vexxy.oci.layers.symlinks import collect_symlinks
from vexxy.sandbox.clock import SYSTEM_CLOCK, Clock
from vexxy.sandbox.launch import Launch
from vexxy.sandbox.local.container import Container
from vexxy.sandbox.local.mounts import mount_root
from vexxy.sandbox.local.observation import Observer
from vexxy.sandbox.local.procfs import tcp_ports
from vexxy.sandbox.local.readiness import Probe, Startup
from vexxy.sandbox.local.resource_events import ResourceEvents
from vexxy.sandbox.local.settings import SandboxSettings
from vexxy.sandbox.network import SandboxNetwork
from vexxy.sandbox.profile import Readiness
from vexxy.sandbox.runtime_spec import build_spec
from vexxy.sandbox.state import CONTAINER_PREFIX, SandboxPaths, private_dir, private_file
from vexxy.sandbox.tracer import FileTracer, NullTracer

# Reads the routes an unpacked image's first-party code declares (its root, its links, its config), never raising:
# the routes, and what could not be read.
RouteReader = Callable[[Path, dict[str, str], ImageConfig], tuple[list[DeclaredRoute], list[str]]]


class LocalRun:
    """The mechanics of one sandbox run; `LocalSandbox.session` guarantees `stop` and teardown."""

    def __init__(
        self,
        paths: SandboxPaths,
        settings: SandboxSettings,
        sandbox_id: str,
        image: ResolvedImage,
        layers: list[Path],
        read_routes: RouteReader | None = None,
        launch: Launch | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ):
        self.clock = clock
        self.paths, self.settings, self.read_routes = paths, settings, read_routes
        self.sandbox_id, self.image, self.layers, self.launch = sandbox_id, image, layers, launch
        self.run_dir = paths.run_dir(sandbox_id)
        self.container = Container(
            settings.runtime,
            paths.runc_root,
            f"{CONTAINER_PREFIX}{sandbox_id}",
            self.run_dir / "bundle",
            self.run_dir / "workload.log",
            launch.secret_values if launch else (),
        )
        self.tracer: FileTracer | None = None
        self.network: SandboxNetwork | None = None
        self.exit_codes: list[int] = []
        self.resource_events = ResourceEvents(sandbox_id, self.run_dir / "scratch", settings.limits)
        # What `start` found and set up, for the workload handed out (see running.py).
        self.rootfs: Path | None = None
        self.symlinks: dict[str, str] = {}
        self.routes: tuple[list[DeclaredRoute], list[str]] = ([], [])
        self.ports: list[int] = []
        self.readiness: Readiness | None = None
        self.observer: Observer | None = None

    def start(self) -> None:
        """Mount the root, read what must be read untraced, start the tracer, network and workload, and wait
        for readiness (which may be a failure: the session still hands the workload out, to be reported)."""
        merged = mount_root(self.paths, self.sandbox_id, self.run_dir, self.layers, self.settings.limits.writable_bytes)
        symlinks = collect_symlinks(merged)  # before the workload (and the tracer) starts
        read_routes = self.read_routes  # likewise: these reads must not be traced
        routes = read_routes(merged, symlinks, self.image.config) if read_routes else ([], [])
        self.tracer = (FileTracer if self.settings.trace else NullTracer)(str(merged), self.clock)
        self.network = SandboxNetwork(self.sandbox_id).create()
        resolv, hosts = self.run_dir / "resolv.conf", self.run_dir / "hosts"
        resolv.write_text("# no DNS inside the vexxy sandbox\n")
        hosts.write_text(f"127.0.0.1\tlocalhost\n{self.network.sandbox_address}\tsandbox\n")
        bundle = private_dir(self.container.bundle)
        spec = build_spec(
            sandbox_id=self.sandbox_id,
            rootfs=merged,
            config=self.image.config,
            netns_path=self.network.netns_path,
            resolv_conf=resolv,
            hosts=hosts,
            limits=self.settings.limits,
        )
        with private_file(bundle / "config.json") as config:
            config.write(json.dumps(spec, indent=1).encode())
        ports = tcp_ports(self.image.config.exposed_ports)
        readiness = Startup(
            self.container,
            Probe.of(self.launch, self.settings),
            self.network.sandbox_address,
            ports,
            self.settings.max_restarts,
            self.launch is not None,
            self.exit_codes,
            self.resource_events,
            self.clock,
        ).start_and_wait()
        self.rootfs, self.symlinks, self.routes, self.ports, self.readiness = merged, symlinks, routes, ports, readiness
        self.observer = Observer(
            self.paths,
            self.settings,
            self.sandbox_id,
            self.image.canonical,
            self.container,
            self.tracer,
            self.network,
            self.exit_codes,
            self.resource_events,
            self.clock,
        )

    def stop(self) -> None:
        self.container.stop()
        if self.tracer is not None:
            self.tracer.stop()
