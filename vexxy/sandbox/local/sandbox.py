"""The local sandbox: an image under runc, in its own network namespace, watched by fanotify.

`LocalSandbox.session(image)` is a context manager: entering it prepares the root filesystem,
mounts a size-limited scratch tmpfs and an overlay (the image's files stay read-only, the run
writes to its own upper dir), creates the network, starts the tracer and the workload, and
waits for readiness. Leaving it, however that happens (success, exception, timeout, a Dagster
run being terminated), stops the workload and removes everything the sandbox created; if the
process itself dies, a watchdog outside its process tree does that (see watchdog.py). A sandbox
removed from outside while it is observed fails the observation with the reason, never a
shortened profile.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from vexxy import settings
from vexxy.declared_route import DeclaredRoute
from vexxy.errors import VexxyError
from vexxy.oci.image import ImageConfig, ResolvedImage
from vexxy.oci.layers.symlinks import collect_symlinks
from vexxy.oci.layers.unpack import UnpackReport
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox import watchdog
from vexxy.sandbox.image_store import ImageStore, PreparedImage, StoreLimits
from vexxy.sandbox.launch import Launch, launched
from vexxy.sandbox.log_tail import CHUNK_BYTES, TAIL_BYTES, redacted_tail
from vexxy.sandbox.network import SandboxNetwork
from vexxy.sandbox.profile import ExecutionProfile, Observation, Readiness
from vexxy.sandbox.runtime_spec import CAPABILITIES, Limits, build_spec
from vexxy.sandbox.state import (
    CONTAINER_PREFIX,
    PRIVATE_DIR,
    SandboxPaths,
    SandboxState,
    cgroup_dirs,
    pids_in_cgroups,
    private_dir,
    private_file,
    process_start,
)
from vexxy.sandbox.sweep import sweep, teardown
from vexxy.sandbox.tracer import FileTracer, NullTracer
from vexxy.sandbox.userns import ID_SHIFT
from vexxy.sandbox.workload import ScannerPlacement

BACKEND = "local-runc"
# Host programs the sandbox runs besides its OCI runtime (scripts/setup installs each one that is missing).
HOST_TOOLS = ("ip", "nft", "sysctl", "mount", "umount")
# A workload with no port to probe is ready once its process has stayed up this long: one that exits
# at once (however slowly its interpreter starts on a loaded host) is a crash, not a ready service.
ALIVE_SETTLE_SECONDS = 1.0


class SandboxError(VexxyError):
    """The sandbox itself could not be set up (not the workload misbehaving)."""


class SandboxRemoved(SandboxError):
    """Someone else removed the sandbox while it was observed: the profile would be cut short."""


@dataclass(frozen=True)
class SandboxSettings:
    state_dir: Path
    cache_dir: Path
    runtime: str = "runc"
    limits: Limits = Limits()
    observation_seconds: float = settings.DEFAULT_OBSERVATION_SECONDS
    quiet_seconds: float = 10.0
    readiness_timeout: float = 30.0
    readiness_probe: str = "tcp"  # tcp: connect to every exposed TCP port; alive: the process runs
    max_restarts: int = 2
    max_rootfs_bytes: int = 4 << 30
    max_entries: int = 65_536
    max_cache_bytes: int = 10 << 30
    max_cache_entries: int = 1_000_000
    trace: bool = True  # False only to measure the tracer's cost
    hard_limit_seconds: float = 0.0  # the watchdog removes the sandbox after this long; 0 = derived from the rest

    @property
    def hard_limit(self) -> float:
        """Readiness (with restarts), the observation window, and a minute for the scanner and teardown."""
        if self.hard_limit_seconds:
            return self.hard_limit_seconds
        return self.readiness_timeout * (self.max_restarts + 1) + 2.0 * self.max_restarts + self.observation_seconds + 60


@dataclass
class Workload:
    """A running sandbox, handed to the code inside the session (e.g. a web scanner)."""

    sandbox_id: str
    address: str
    ports: list[int]
    readiness: Readiness
    tracer: FileTracer
    network: SandboxNetwork
    rootfs: Path  # the container's root (the run's overlay)
    image_symlinks: dict[str, str] = field(default_factory=dict)  # read from the image before the workload ran
    unpack: UnpackReport = field(default_factory=UnpackReport)
    code_routes: tuple[list[DeclaredRoute], list[str]] = ([], [])  # read from the image before the workload ran

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

    def observe(self, during: Callable[[Workload], None] | None = None) -> ExecutionProfile:
        return self._runner.observe(self, during)  # type: ignore[attr-defined]

    def symlinks(self) -> dict[str, str]:
        return self.image_symlinks

    def declared_routes(self, within: float = 10.0) -> tuple[list[DeclaredRoute], list[str]]:
        return self.code_routes  # read before the workload started

    def notes(self) -> list[str]:
        notes = [f"symlink pointing outside the image root (resolved inside it): {link}" for link in self.unpack.clamped_links]
        return notes + [f"device node not created: {path}" for path in self.unpack.skipped_devices]


def _tcp_ports(exposed: list[str]) -> list[int]:
    ports = []
    for spec in exposed:
        number, _, protocol = spec.partition("/")
        if (protocol or "tcp") == "tcp" and number.isdigit():
            ports.append(int(number))
    return sorted(set(ports))


def _listening(pid: int) -> list[dict]:
    sockets = []
    for name, protocol in (("tcp", "tcp"), ("tcp6", "tcp6"), ("udp", "udp"), ("udp6", "udp6")):
        try:
            lines = Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if protocol.startswith("tcp") and state != "0A":
                continue
            if protocol.startswith("udp") and state != "07":
                continue
            address_hex, port_hex = local.split(":")
            if len(address_hex) == 8:
                address = socket.inet_ntop(socket.AF_INET, bytes.fromhex(address_hex)[::-1])
            else:
                raw = bytes.fromhex(address_hex)
                address = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
            sockets.append({"protocol": protocol.rstrip("6"), "address": address, "port": int(port_hex, 16)})
    return sorted(
        {(s["protocol"], s["address"], s["port"]): s for s in sockets}.values(), key=lambda s: (s["port"], s["protocol"])
    )


# Reads the routes an unpacked image's first-party code declares (its root, its links, its config), never raising:
# the routes, and what could not be read.
RouteReader = Callable[[Path, dict[str, str], ImageConfig], tuple[list[DeclaredRoute], list[str]]]


class LocalSandbox:
    def __init__(
        self, settings: SandboxSettings, client: RegistryClient, run_id: str = "", read_routes: RouteReader | None = None
    ):
        """`run_id` names the Dagster run its sandboxes serve, so a daemon can remove them once that run ends;
        `read_routes` reads the image's declared routes before its workload starts (None: none are read)."""
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
    ) -> Iterator[Workload]:
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
            yield from self._session(image, sandbox_id, prepared, log, launch)

    def _session(
        self, image: ResolvedImage, sandbox_id: str, prepared: PreparedImage, log, launch: Launch | None = None
    ) -> Iterator[Workload]:
        run_dir = self.paths.run_dir(sandbox_id)
        now = time.time()
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
        runner = _Runner(self, sandbox_id, image, prepared.layers, run_dir, log, launch)
        previous_handler = None
        if threading.current_thread() is threading.main_thread():
            # A terminated run gets SIGTERM: turn it into an exception so the finally below runs.
            previous_handler = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            state.watchdog_pid = watchdog.spawn(self.paths, sandbox_id, self.settings.runtime)
            watchdog_start = process_start(state.watchdog_pid)
            self.paths.write_state(state)
            workload = runner.start()
            workload.unpack = prepared.report
            yield workload
        finally:
            try:
                runner.stop()
            finally:
                teardown(self.paths, sandbox_id, self.settings.runtime)
                if state.watchdog_pid:
                    watchdog.stop(state.watchdog_pid, watchdog_start)
                if previous_handler is not None:
                    signal.signal(signal.SIGTERM, previous_handler)

    def observe(self, workload: Workload, during: Callable[[Workload], None] | None = None) -> ExecutionProfile:
        """Watch the workload for the observation window (ending early once quiet); `during` runs alongside."""
        return workload._runner.observe(workload, during)  # type: ignore[attr-defined]


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"received signal {signum}")


class _Runner:
    """The mechanics of one sandbox run; `LocalSandbox.session` guarantees `stop` and teardown."""

    def __init__(
        self,
        sandbox: LocalSandbox,
        sandbox_id: str,
        image: ResolvedImage,
        layers: list[Path],
        run_dir: Path,
        log,
        launch: Launch | None = None,
    ):
        self.sandbox, self.settings = sandbox, sandbox.settings
        self.sandbox_id, self.image, self.layers, self.run_dir, self.log = sandbox_id, image, layers, run_dir, log
        self.container_id = f"{CONTAINER_PREFIX}{sandbox_id}"
        self.process: subprocess.Popen | None = None
        self.tracer: FileTracer | None = None
        self.network: SandboxNetwork | None = None
        self.exit_codes: list[int] = []
        self.resource_events: list[str] = []
        self.exec_args: dict[str, list[str]] = {}
        self.started = time.monotonic()
        self.container_expected = False  # whether a container of ours should exist (we delete exited ones)
        self.launch = launch
        ready = self.launch.readiness if self.launch else None
        self.probe = ready.kind if ready else self.settings.readiness_probe
        self.probe_port = ready.port if ready else None
        self.probe_path, self.expect_status = (ready.path, ready.expect_status) if ready else ("", 200)
        self.readiness_timeout = (ready.timeout_seconds if ready else None) or self.settings.readiness_timeout

    # --- setup ----------------------------------------------------------------------------

    def _mount(self) -> Path:
        """The run's root: the image's shared layers, read-only, under a writable upper dir on a sized tmpfs.

        It is mounted where the container's root user (an unprivileged host uid) can reach it, with short
        links to the layers so that many layers fit in the mount options (as Docker's overlay2 does)."""
        self.sandbox.paths.make_run_dir(self.sandbox_id)
        scratch, links = self.run_dir / "scratch", self.run_dir / "l"
        merged = self.sandbox.paths.rootfs_mount(self.sandbox_id)
        for directory in (scratch, links, merged):
            directory.mkdir(parents=True, exist_ok=True)
        for parent in (merged.parent, merged.parent.parent):
            parent.chmod(0o711)
        limit = self.settings.limits.writable_bytes
        _check(
            ["mount", "-t", "tmpfs", "-o", f"size={limit},mode=0755", f"vexxy-{self.sandbox_id}", str(scratch)],
            "mount the scratch tmpfs",
        )
        (scratch / "upper").mkdir()
        (scratch / "work").mkdir()
        os.chown(scratch / "upper", ID_SHIFT, ID_SHIFT)  # the image's / belongs to the container's root
        for index, layer in enumerate(self.layers):
            (links / str(index)).symlink_to(layer)
        lower = ":".join(str(index) for index in reversed(range(len(self.layers))))  # uppermost first
        options = f"lowerdir={lower},upperdir={scratch / 'upper'},workdir={scratch / 'work'}"
        _check(
            ["mount", "-t", "overlay", "-o", options, f"vexxy-{self.sandbox_id}", str(merged)],
            "mount the overlay root",
            cwd=links,
        )
        return merged

    def start(self) -> Workload:
        merged = self._mount()
        symlinks = collect_symlinks(merged)  # before the workload (and the tracer) starts
        read_routes = self.sandbox.read_routes  # likewise: these reads must not be traced
        routes = read_routes(merged, symlinks, self.image.config) if read_routes else ([], [])
        self.tracer = (FileTracer if self.settings.trace else NullTracer)(str(merged))
        self.network = SandboxNetwork(self.sandbox_id).create()
        resolv, hosts = self.run_dir / "resolv.conf", self.run_dir / "hosts"
        resolv.write_text("# no DNS inside the vexxy sandbox\n")
        hosts.write_text(f"127.0.0.1\tlocalhost\n{self.network.sandbox_address}\tsandbox\n")
        bundle = private_dir(self.run_dir / "bundle")
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
        self.bundle = bundle
        readiness = self._start_and_wait()
        ports = _tcp_ports(self.image.config.exposed_ports)
        workload = Workload(
            self.sandbox_id, self.network.sandbox_address, ports, readiness, self.tracer, self.network, merged, symlinks
        )
        workload.code_routes = routes
        workload._runner = self  # type: ignore[attr-defined]
        return workload

    def _launch(self) -> None:
        self.sandbox.paths.runc_root.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)  # runc's state holds the config
        log = private_file(self.run_dir / "workload.log", append=True)
        self.process = subprocess.Popen(
            # --keep: the container (and its cgroup, with OOM and pids counters) stays until we delete it.
            [
                self.settings.runtime,
                "--root",
                str(self.sandbox.paths.runc_root),
                "run",
                "--keep",
                "--bundle",
                str(self.bundle),
                self.container_id,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.container_expected = True
        log.close()

    def _exited(self) -> int | None:
        if self.process is None:
            return None
        code = self.process.poll()
        return code

    def _start_and_wait(self) -> Readiness:
        """Start the workload; restart it (up to max_restarts) if it exits before it is ready."""
        ports = _tcp_ports(self.image.config.exposed_ports)
        restarts = 0
        start = time.monotonic()
        while True:
            self._launch()
            outcome = self._wait_ready(ports, start)
            if outcome is not None:
                outcome.restarts = restarts
                return outcome
            code = self.process.wait()
            self.exit_codes.append(code)
            self._note_resource_events()
            subprocess.run(
                [self.settings.runtime, "--root", str(self.sandbox.paths.runc_root), "delete", "--force", self.container_id],
                capture_output=True,
            )
            self.container_expected = False
            if code == 0 and self.launch is not None and (not ports or self.probe == "alive"):
                # A configured role that only has to run (a job) and ran to completion was observed whole.
                return Readiness(
                    "ready", "the workload ran to completion (exit code 0)", round(time.monotonic() - start, 2), 0, restarts
                )
            if code == 0 and not ports:
                return Readiness(
                    "exited",
                    "the workload ran to completion before the observation window",
                    round(time.monotonic() - start, 2),
                    0,
                    restarts,
                )
            if restarts >= self.settings.max_restarts:
                tail = self.log_tail()
                kind = "crash_loop" if restarts else "exited"
                detail = (
                    f"the workload exited with code {code}"
                    + (f" {restarts + 1} times in a row" if restarts else "")
                    + (f": {tail.splitlines()[-1]}" if tail else "")
                )
                return Readiness(kind, detail, round(time.monotonic() - start, 2), code, restarts)
            restarts += 1
            time.sleep(min(2.0, 0.5 * restarts))

    def _wait_ready(self, ports: list[int], start: float) -> Readiness | None:
        deadline = start + self.readiness_timeout
        if self.probe_port:
            ports = [self.probe_port]
        alive_since: float | None = None
        while time.monotonic() < deadline:
            if self._exited() is not None:
                return None
            self._note_resource_events()
            alive = self.container_pid() is not None
            alive_since = (alive_since or time.monotonic()) if alive else None
            if alive and self.probe == "http" and ports:
                status = self._http_status(ports[0])
                if status == self.expect_status:
                    return Readiness(
                        "ready", f"GET {self.probe_path} on TCP {ports[0]} answered {status}", round(time.monotonic() - start, 2)
                    )
                time.sleep(0.2)
                continue
            if alive and (self.probe == "alive" or not ports):
                if alive_since is not None and time.monotonic() - alive_since >= ALIVE_SETTLE_SECONDS:
                    return Readiness("ready", "the process is running", round(time.monotonic() - start, 2))
                time.sleep(0.1)
                continue
            if alive and all(self._port_open(port) for port in ports):
                return Readiness(
                    "ready", f"TCP {', '.join(map(str, ports))} accepted connections", round(time.monotonic() - start, 2)
                )
            time.sleep(0.1)
        if self._exited() is not None:
            return None
        return Readiness(
            "timeout",
            (
                f"GET {self.probe_path} on TCP {ports[0]} did not answer {self.expect_status}"
                if self.probe == "http"
                else f"no connection to TCP {', '.join(map(str, ports))}"
            )
            + f" within {self.readiness_timeout:.0f} s"
            if ports
            else "the process did not start in time",
            round(time.monotonic() - start, 2),
        )

    def _http_status(self, port: int) -> int | None:
        connection = http.client.HTTPConnection(self.network.sandbox_address, port, timeout=1.0)
        try:
            connection.request("GET", self.probe_path, headers={"User-Agent": "vexxy-readiness"})
            return connection.getresponse().status
        except (OSError, http.client.HTTPException):
            return None
        finally:
            connection.close()

    def _port_open(self, port: int) -> bool:
        try:
            with socket.create_connection((self.network.sandbox_address, port), timeout=0.5):
                return True
        except OSError:
            return False

    def container_pid(self) -> int | None:
        result = subprocess.run(
            [self.settings.runtime, "--root", str(self.sandbox.paths.runc_root), "state", self.container_id],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            return None
        state = json.loads(result.stdout)
        return state.get("pid") if state.get("status") == "running" else None

    # --- observation ------------------------------------------------------------------------

    def _scan_processes(self) -> None:
        for pid in pids_in_cgroups(self.sandbox_id):
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            relative = self.tracer._relative(exe) if self.tracer else exe
            if relative and relative not in self.exec_args:
                self.exec_args[relative] = [a.decode(errors="replace") for a in args if a]

    def _note_resource_events(self) -> None:
        for directory in cgroup_dirs(self.sandbox_id):
            oom = directory / "memory.oom_control"
            if (
                oom.exists()
                and "oom_kill 0" not in oom.read_text()
                and not any("out of memory" in e for e in self.resource_events)
            ):
                self.resource_events.append(
                    f"out of memory (limit {self.settings.limits.memory_bytes >> 20} MiB): the kernel killed a process"
                )
            events = directory / "pids.events"
            if events.exists() and "max 0" not in events.read_text() and "pids limit" not in " ".join(self.resource_events):
                self.resource_events.append(f"pids limit reached ({self.settings.limits.pids} processes): forks were refused")
        scratch = self.run_dir / "scratch"
        try:
            usage = os.statvfs(scratch)
            if usage.f_bavail == 0 and not any("writable space" in e for e in self.resource_events):
                self.resource_events.append(f"writable space full ({self.settings.limits.writable_bytes >> 20} MiB)")
        except OSError:
            pass

    def removed_reason(self) -> str | None:
        """Why the sandbox is no longer whole (someone else removed it or a part of it), or None."""
        paths = self.sandbox.paths
        reason = paths.removal_reason(self.sandbox_id)
        if reason:
            return reason
        if not paths.state_file(self.sandbox_id).exists():
            return "its state file was deleted"
        if not os.path.ismount(paths.rootfs_mount(self.sandbox_id)):
            return "its root filesystem was unmounted"
        if self.network is not None and not os.path.exists(self.network.netns_path):
            return "its network namespace was deleted"
        if not self.container_expected:
            return None
        state = subprocess.run(
            [self.settings.runtime, "--root", str(paths.runc_root), "state", self.container_id], capture_output=True
        )
        if state.returncode != 0:
            return "its container was deleted"
        return None

    def _check_whole(self, observed_from: float) -> None:
        reason = self.removed_reason()
        if reason:
            raise SandboxRemoved(
                f"The sandbox of {self.image.canonical} was removed from outside after "
                f"{time.monotonic() - observed_from:.1f} s of observation ({reason}); its profile would be "
                "incomplete, so the analysis fails instead.",
                hint="Run the analysis again; if it keeps happening, look for another process sweeping sandboxes "
                "or a hard wall-clock limit shorter than the observation.",
            )

    def observe(self, workload: Workload, during: Callable[[Workload], None] | None) -> ExecutionProfile:
        readiness = workload.readiness
        observed_from = time.monotonic()
        self._check_whole(observed_from)
        last_check = observed_from
        ended_by = "window"
        helper_error: list[BaseException] = []
        helper = None
        if readiness.outcome == "ready":
            if during is not None:

                def run_helper():
                    try:
                        during(workload)
                    except BaseException as exc:  # reported with the profile, never fatal to it
                        helper_error.append(exc)

                helper = threading.Thread(target=run_helper, name="vexxy-during", daemon=True)
                helper.start()
            deadline = observed_from + self.settings.observation_seconds
            last_size = -1
            while time.monotonic() < deadline:
                self._scan_processes()
                self._note_resource_events()
                size = self.tracer.snapshot_size()
                if size != last_size:
                    last_size = size
                if self._exited() is not None:
                    self._check_whole(observed_from)
                    self.exit_codes.append(self.process.returncode)
                    ended_by = "exited"
                    break
                if time.monotonic() - last_check >= 1.0:
                    self._check_whole(observed_from)
                    last_check = time.monotonic()
                helper_busy = helper is not None and helper.is_alive()
                if (
                    not helper_busy
                    and time.monotonic() - max(self.tracer.last_new_path, observed_from) >= self.settings.quiet_seconds
                ):
                    ended_by = "quiet"
                    break
                time.sleep(0.2)
            if helper is not None:
                helper.join(timeout=max(0.0, deadline - time.monotonic()) + 5)
        self._note_resource_events()
        self.tracer.drain()
        self._check_whole(observed_from)
        observed = round(time.monotonic() - observed_from, 2)
        complete, reason = True, ""
        if readiness.outcome != "ready":
            complete, reason = False, f"the workload never became ready ({readiness.outcome}: {readiness.detail})"
        elif ended_by == "exited" and self.exit_codes and self.exit_codes[-1] != 0:
            complete, reason = False, f"the workload exited with code {self.exit_codes[-1]} during observation"
        elif self.tracer.overflowed:
            complete, reason = False, "the tracer's event queue overflowed"
        if any("out of memory" in e for e in self.resource_events) and complete:
            complete, reason = False, "a process was killed for exceeding the memory limit"
        return ExecutionProfile(
            image=self.image.canonical,
            backend=BACKEND,
            readiness=readiness,
            window_seconds=self.settings.observation_seconds,
            observed_seconds=observed,
            ended_by=ended_by,
            complete=complete,
            incomplete_reason=reason,
            opens=[
                Observation(p, r.first_seen, r.count, r.phase, sorted(r.flags), identities=sorted(r.identities))
                for p, r in sorted(self.tracer.opens.items())
            ],
            execs=[
                Observation(p, r.first_seen, r.count, r.phase, ["exec"], self.exec_args.get(p, []), sorted(r.identities))
                for p, r in sorted(self.tracer.execs.items())
            ],
            identities={sha: found.to_dict() for sha, found in self.tracer.identities.items()},
            listening=_listening(self.container_pid() or 0) if self.container_pid() else [],
            outbound_attempts=self.network.outbound_attempts(),
            capabilities=list(CAPABILITIES),
            limits=asdict(self.settings.limits),
            resource_events=list(self.resource_events),
            workload_log_tail=self.log_tail(),
        )

    def log_tail(self, limit: int = TAIL_BYTES) -> str:
        """The log's last bytes, secret values hidden in the whole log first (see log_tail.py)."""
        secrets = self.launch.secret_values if self.launch else ()
        try:
            with open(self.run_dir / "workload.log", "rb") as log:
                if not secrets:
                    log.seek(max(0, os.fstat(log.fileno()).st_size - limit))
                return redacted_tail(iter(lambda: log.read(CHUNK_BYTES), b""), secrets, limit)
        except OSError:
            return ""

    # --- shutdown ---------------------------------------------------------------------------

    def stop(self) -> None:
        runc = [self.settings.runtime, "--root", str(self.sandbox.paths.runc_root)]
        if self.process is not None and self.process.poll() is None:
            subprocess.run([*runc, "kill", self.container_id, "TERM"], capture_output=True)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                subprocess.run([*runc, "kill", "--all", self.container_id, "KILL"], capture_output=True)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
        if self.tracer is not None:
            self.tracer.stop()


def _check(command: list[str], what: str, cwd: Path | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        raise SandboxError(f"Could not {what}: {result.stderr.strip() or result.stdout.strip()}")
