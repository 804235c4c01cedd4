"""The Kubernetes sandbox: the image as a pod in the sandbox namespace, profiled by Kubescape.

`KubernetesSandbox.session(image)` checks that Kubescape can profile the workload in time,
sweeps expired leftovers of this instance, creates the analysis's NetworkPolicy (first: the
pod is never unfenced), Service and Pod, and waits for readiness (the pod's Ready condition,
then a TCP connection to every exposed port). Leaving the session deletes all three, whatever
happened. The workload's profile is Kubescape's, read when its learning completes.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from kubernetes import watch
from kubernetes.client import ApiClient, CoreV1Api, CustomObjectsApi, NetworkingV1Api
from kubernetes.client.exceptions import ApiException

from vexxy import settings
from vexxy.declared_route import DeclaredRoute
from vexxy.errors import VexxyError
from vexxy.oci.image import ResolvedImage
from vexxy.oci.layers.image_links import layer_symlinks
from vexxy.oci.registry_client import RegistryClient
from vexxy.sandbox.clock import SYSTEM_CLOCK, Clock
from vexxy.sandbox.kube import kubescape, manifests
from vexxy.sandbox.kube.manifests import CONTAINER, Placement, PodLimits, object_name, tcp_ports
from vexxy.sandbox.kube.pod_state import PodState, classify
from vexxy.sandbox.kube.sweep import delete_sandbox, sweep
from vexxy.sandbox.launch import Launch, launched
from vexxy.sandbox.log_tail import CHUNK_BYTES, TAIL_BYTES, redacted_tail
from vexxy.sandbox.profile import ExecutionProfile, Observation, Readiness
from vexxy.sandbox.profile_assembly import assemble_profile
from vexxy.sandbox.workload import ScannerPlacement, Workload, run_alongside

BACKEND = "kubernetes-kubescape"


class KubernetesSandboxError(VexxyError):
    """The cluster refused what the sandbox needs (permissions, quota, a malformed object)."""


@dataclass(frozen=True)
class KubeSettings:
    namespace: str
    instance: str = "default"
    prober_labels: dict[str, str] = field(default_factory=dict)
    image_pull_secret: str | None = None
    prober_namespaces: tuple[str, ...] = ()
    limits: PodLimits = PodLimits()
    observation_seconds: float = settings.DEFAULT_OBSERVATION_SECONDS
    readiness_timeout: float = 60.0
    completion_grace: float = 60.0  # how long after the window Kubescape may take to write the final profile
    max_restarts: int = 2
    poll_seconds: float = 2.0
    kubescape_namespace: str = "kubescape"
    node_agent_config_map: str = "node-agent"
    profile_kind: str = "applicationprofiles"  # or containerprofiles
    probe_address: str | None = None  # default: the Service's cluster IP

    def placement(self) -> Placement:
        return Placement(self.namespace, self.instance, dict(self.prober_labels), self.image_pull_secret, self.prober_namespaces)

    def lifetime(self) -> float:
        """How long an analysis's objects may live before a sweep may remove them."""
        return self.readiness_timeout + self.observation_seconds + self.completion_grace + 300


def _api_error(exc: ApiException, what: str) -> KubernetesSandboxError:
    return KubernetesSandboxError(
        f"Kubernetes refused to {what}: {exc.status} {exc.reason}",
        hint="Check the sandbox namespace exists and the Role of helm/vexxy is bound to this service account.",
    )


# Reads the routes an image's first-party code declares from its layers in the registry, never raising: the routes,
# and what could not be read.
RouteReader = Callable[[RegistryClient, ResolvedImage], tuple[list[DeclaredRoute], list[str]]]


class KubernetesSandbox:
    def __init__(
        self,
        settings: KubeSettings,
        api: ApiClient,
        registry: RegistryClient,
        read_routes: RouteReader | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ):
        """`read_routes` reads the image's declared routes when the fuzzers ask (None: none are read); `clock` is
        what expiry stamps, waits and timings read."""
        self.clock = clock
        self.settings = settings
        self.core, self.networking, self.custom = CoreV1Api(api), NetworkingV1Api(api), CustomObjectsApi(api)
        self.registry = registry
        self.read_routes = read_routes

    # --- Kubescape ------------------------------------------------------------------------

    def _require_kubescape(self) -> None:
        try:
            resources = self.custom.get_api_resources(kubescape.GROUP, kubescape.VERSION)
        except ApiException as exc:
            if exc.status == 404:
                raise kubescape.absent_error(self.settings.namespace) from exc
            raise _api_error(exc, f"read the API group {kubescape.API_VERSION}") from exc
        served = {r.name for r in resources.resources or []}
        if self.settings.profile_kind not in served:
            raise kubescape.KubescapeError(
                f"Kubescape's storage serves no {self.settings.profile_kind} "
                f"(it serves {', '.join(sorted(served)) or 'nothing'}).",
                hint="Upgrade the kubescape-operator chart, or set VEXXY_K8S_PROFILE_KIND to a kind it serves.",
            )

    def _learning_period(self, notes: list[str]) -> float | None:
        try:
            config_map = self.core.read_namespaced_config_map(
                self.settings.node_agent_config_map, self.settings.kubescape_namespace
            )
        except ApiException as exc:
            notes.append(
                f"Kubescape's node agent configuration ({self.settings.kubescape_namespace}/"
                f"{self.settings.node_agent_config_map}) could not be read ({exc.status}); its learning period is unchecked"
            )
            return None
        learning = kubescape.learning_seconds(config_map.data or {})
        if learning is None:
            notes.append("Kubescape's node agent configuration does not say how long it learns; the period is unchecked")
        return learning

    # --- the session ----------------------------------------------------------------------

    @contextlib.contextmanager
    def session(
        self, image: ResolvedImage, log: Callable[[str], None] = lambda message: None, launch: Launch | None = None
    ) -> Iterator[Workload]:
        """`launch` (a role of an analysis configuration) sets the pod's command, env, working dir, ports and probe."""
        settings = self.settings  # a role's own readiness timeout holds for this session only
        if launch is not None and launch.readiness is not None and launch.readiness.timeout_seconds:
            settings = replace(settings, readiness_timeout=float(launch.readiness.timeout_seconds))
        image = launched(image, launch)
        notes: list[str] = []
        self._require_kubescape()
        learning = self._learning_period(notes)
        kubescape.check_learning_period(learning, settings.observation_seconds)
        try:
            swept = sweep(self.core, self.networking, settings.namespace, settings.instance, self.clock.wall())
        except ApiException as exc:
            raise _api_error(exc, f"sweep expired sandbox objects in {settings.namespace}") from exc
        if swept:
            log(f"Removed {len(swept)} sandbox(es) left behind by killed runs: {', '.join(swept)}")
        sandbox_id = secrets.token_hex(6)
        name = object_name(sandbox_id)
        placement = settings.placement()
        expires = self.clock.wall() + settings.lifetime()
        if image.config.user and not manifests.run_as(image.config.user) and image.config.user.split(":")[0] not in ("0", "root"):
            notes.append(f"the image names its user {image.config.user!r}, not a number: runAsNonRoot cannot be enforced")
        try:
            try:
                self.networking.create_namespaced_network_policy(
                    settings.namespace, manifests.network_policy(sandbox_id, placement, image, expires)
                )
                service = self.core.create_namespaced_service(
                    settings.namespace, manifests.service(sandbox_id, placement, image, expires)
                )
                env_secret = manifests.secret(sandbox_id, placement, image, expires, launch)
                if env_secret is not None:
                    self.core.create_namespaced_secret(settings.namespace, env_secret)
                self.core.create_namespaced_pod(
                    settings.namespace, manifests.pod(sandbox_id, placement, image, settings.limits, expires, launch)
                )
            except ApiException as exc:
                raise _api_error(exc, f"create the sandbox objects {settings.namespace}/{name}") from exc
            address = settings.probe_address or service.spec.cluster_ip
            log(f"Sandbox pod {settings.namespace}/{name} created; waiting for readiness")
            workload = KubernetesWorkload(
                self, settings, image, name, address, tcp_ports(image.config.exposed_ports), learning, notes
            )
            # A role that only has to run (readiness "alive", e.g. a job) is ready once its pod is, whatever its ports
            # do, and may run to completion.
            workload.runs_to_completion = manifests.runs_to_completion(launch)
            workload.secret_values = launch.secret_values if launch else ()
            workload.wait_ready()
            yield workload
        except BaseException:
            try:
                delete_sandbox(self.core, self.networking, settings.namespace, name)
            except ApiException as exc:  # the analysis's own failure is the one to report; the sweep retries
                log(
                    f"Could not delete every object of sandbox {settings.namespace}/{name} "
                    f"({exc.status} {exc.reason}); the expiry sweep removes the rest"
                )
            raise
        else:
            try:
                delete_sandbox(self.core, self.networking, settings.namespace, name)
            except ApiException as exc:
                raise _api_error(exc, f"delete the sandbox objects {settings.namespace}/{name}") from exc

    # --- reads ----------------------------------------------------------------------------

    def read_pod(self, name: str) -> dict[str, Any]:
        return self.core.api_client.sanitize_for_serialization(self.core.read_namespaced_pod(name, self.settings.namespace))

    def read_profile(self, pod_name: str) -> kubescape.ProfileSnapshot | None:
        selector = f"{kubescape.WORKLOAD_KIND_LABEL}=Pod,{kubescape.WORKLOAD_NAME_LABEL}={pod_name}"
        found = self.custom.list_namespaced_custom_object(
            kubescape.GROUP, kubescape.VERSION, self.settings.namespace, self.settings.profile_kind, label_selector=selector
        )
        snapshots = [s for s in (kubescape.read_profile(item, CONTAINER) for item in found.get("items") or []) if s]
        return snapshots[0] if snapshots else None


class KubernetesWorkload:
    """One analysis's pod, as the backend-neutral `Workload`."""

    def __init__(
        self,
        sandbox: KubernetesSandbox,
        settings: KubeSettings,
        image: ResolvedImage,
        pod_name: str,
        address: str,
        ports: list[int],
        learning: float | None,
        notes: list[str],
    ):
        self.sandbox, self.settings = sandbox, settings
        self.image, self.pod_name, self.address, self.ports = image, pod_name, address, ports
        self.learning, self._notes = learning, notes
        self.runs_to_completion = False  # a job: exit 0 ends it well; readiness needs no TCP connection then
        self.secret_values: tuple[str, ...] = ()  # hidden from the log before its tail is kept
        self.readiness = Readiness("timeout", "not yet observed")
        self.state = PodState(None)
        self.resource_events: list[str] = []
        self.first_seen: dict[str, tuple[float, str]] = {}  # path -> (seconds into the observation, phase)
        self.phase = "idle"
        self.clock = sandbox.clock
        self.observed_from = self.clock.monotonic()
        self._lock = threading.Lock()

    # --- readiness ------------------------------------------------------------------------

    def _update(self, pod: dict[str, Any]) -> PodState:
        self.state = classify(
            pod, CONTAINER, self.settings.max_restarts, self.settings.limits.memory_mb, completes=self.runs_to_completion
        )
        for event in self.state.resource_events:
            if event not in self.resource_events:
                self.resource_events.append(event)
        return self.state

    def _ports_accept(self) -> bool:
        for port in self.ports:
            try:
                with socket.create_connection((self.address, port), timeout=1.0):
                    pass
            except OSError:
                return False
        return True

    def wait_ready(self) -> Readiness:
        """The pod's Ready condition from a watch (resumed after 410 Gone), then a TCP connection per port."""
        start = self.clock.monotonic()
        deadline = start + self.settings.readiness_timeout
        core, namespace = self.sandbox.core, self.settings.namespace
        pod = self.sandbox.read_pod(self.pod_name)
        version = pod["metadata"].get("resourceVersion")
        while True:
            state = self._update(pod)
            elapsed = round(self.clock.monotonic() - start, 2)
            if state.outcome == "ready" and (self.runs_to_completion or self._ports_accept()):
                detail = f"Ready, TCP {', '.join(map(str, self.ports))} accepted connections" if self.ports else "Ready"
                self.readiness = Readiness("ready", detail, elapsed, None, state.restarts)
                return self.readiness
            if state.outcome not in (None, "ready"):
                self.readiness = Readiness(state.outcome, state.detail, elapsed, state.exit_code, state.restarts)
                return self.readiness
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                waiting = state.waiting_for or "the pod is Ready but a port refused connections"
                self.readiness = Readiness(
                    "timeout",
                    f"not ready within {self.settings.readiness_timeout:.0f} s: {waiting}",
                    elapsed,
                    None,
                    state.restarts,
                )
                return self.readiness
            watcher = watch.Watch()
            try:
                stream = watcher.stream(
                    core.list_namespaced_pod,
                    namespace,
                    field_selector=f"metadata.name={self.pod_name}",
                    resource_version=version,
                    timeout_seconds=max(1, int(min(remaining, self.settings.poll_seconds * 5))),
                    _request_timeout=max(2.0, remaining + 1),
                )
                for event in stream:
                    if event["type"] in ("ADDED", "MODIFIED"):
                        pod = event["raw_object"]
                        version = pod["metadata"].get("resourceVersion", version)
                        break
                    if event["type"] == "DELETED":
                        raise KubernetesSandboxError(f"the sandbox pod {namespace}/{self.pod_name} was deleted by someone else")
                else:
                    if state.outcome == "ready":  # Ready, but a port not yet accepting: retry shortly
                        self.clock.sleep(min(self.settings.poll_seconds, max(0.0, deadline - self.clock.monotonic())))
            except ApiException as exc:
                if exc.status != 410:
                    raise _api_error(exc, f"watch the pod {namespace}/{self.pod_name}") from exc
                pod = self.sandbox.read_pod(self.pod_name)  # the watch's version is gone: re-read, resume from now
                version = pod["metadata"].get("resourceVersion")
            finally:
                watcher.stop()

    # --- the Workload protocol ------------------------------------------------------------

    def mark_fuzzing_started(self) -> None:
        self._record(self._read_profile())
        with self._lock:
            self.phase = "fuzzing"

    def scanner_placement(self) -> ScannerPlacement:
        """The step's own pod carries the prober labels the NetworkPolicy admits: scan from here."""
        return ScannerPlacement(self.address)

    def symlinks(self) -> dict[str, str]:
        return layer_symlinks(self.sandbox.registry, self.image)

    def notes(self) -> list[str]:
        return list(self._notes)

    def declared_routes(self, within: float = 10.0) -> tuple[list[DeclaredRoute], list[str]]:
        """Read from the image's verified layers in the registry (the pod's files are on its node), for at most
        `within` seconds: a large image must not eat the scanner's share of the window."""
        read_routes = self.sandbox.read_routes
        if read_routes is None:
            return [], []
        found: list[tuple[list[DeclaredRoute], list[str]]] = []
        thread = threading.Thread(target=lambda: found.append(read_routes(self.sandbox.registry, self.image)), daemon=True)
        thread.start()
        thread.join(within)
        return found[0] if found else ([], [f"first-party code not read for routes within {within:.0f} s"])

    def _read_profile(self) -> kubescape.ProfileSnapshot | None:
        try:
            return self.sandbox.read_profile(self.pod_name)
        except ApiException as exc:
            raise _api_error(exc, f"read Kubescape's {self.settings.profile_kind} in {self.settings.namespace}") from exc

    def _record(self, snapshot: kubescape.ProfileSnapshot | None) -> None:
        if snapshot is None:
            return
        now = round(self.clock.monotonic() - self.observed_from, 3)
        with self._lock:
            for path in snapshot.paths():
                self.first_seen.setdefault(path, (now, self.phase))

    def observe(self, during: Callable[[Workload], None] | None = None) -> ExecutionProfile:
        self.observed_from = self.clock.monotonic()
        window_end = self.observed_from + self.settings.observation_seconds
        ended_by = "window"
        helper_error: list[BaseException] = []
        helper = None
        snapshot = None
        if self.readiness.outcome == "ready":
            helper, helper_error = run_alongside(during, self)
            while self.clock.monotonic() < window_end:
                try:
                    state = self._update(self.sandbox.read_pod(self.pod_name))
                except ApiException as exc:
                    if exc.status != 404:
                        raise _api_error(exc, f"read the pod {self.settings.namespace}/{self.pod_name}") from exc
                    self.state = state = PodState("exited", "the sandbox pod was deleted during observation")
                snapshot = self._read_profile()
                self._record(snapshot)
                if state.outcome not in (None, "ready"):
                    ended_by = "exited"
                    break
                helper_busy = helper is not None and helper.is_alive()
                if snapshot is not None and snapshot.finished and not helper_busy:
                    ended_by = "profile_completed"
                    break
                self.clock.sleep(min(self.settings.poll_seconds, max(0.0, window_end - self.clock.monotonic())))
            if helper is not None:
                helper.join(timeout=max(0.0, window_end - self.clock.monotonic()) + 5)
            observed = round(self.clock.monotonic() - self.observed_from, 2)
            # Kubescape writes the final profile when its learning period ends: wait for it, within reason.
            grace_end = self.clock.monotonic() + self.settings.completion_grace
            while not (snapshot is not None and snapshot.finished) and self.clock.monotonic() < grace_end:
                self.clock.sleep(min(self.settings.poll_seconds, max(0.0, grace_end - self.clock.monotonic())))
                snapshot = self._read_profile()
                self._record(snapshot)
        else:
            observed = 0.0
            snapshot = self._read_profile()
            self._record(snapshot)
        return self._profile(snapshot, observed, ended_by, helper_error)

    def _profile(self, snapshot, observed: float, ended_by: str, helper_error: list[BaseException]) -> ExecutionProfile:
        readiness = self.readiness

        def observation(entry: dict[str, Any], flags: list[str], args: list[str]) -> Observation:
            first, phase = self.first_seen.get(entry["path"], (observed, self.phase))
            # Kubescape records that a path was used, not how often: the count is 1.
            return Observation(entry["path"], first, 1, phase, flags, args)

        opens = [observation(o, o["flags"], []) for o in snapshot.opens] if snapshot else []
        execs = [observation(e, ["exec"], e["args"]) for e in snapshot.execs] if snapshot else []
        if helper_error:
            self._notes.append(f"the code driving the workload failed: {helper_error[0]!r}")
        return assemble_profile(
            image=self.image.canonical,
            backend=BACKEND,
            readiness=readiness,
            window_seconds=self.settings.observation_seconds,
            observed_seconds=observed,
            ended_by=ended_by,
            backend_reason=self._incompleteness(snapshot),
            resource_events=self.resource_events,
            opens=opens,
            execs=execs,
            listening=[{"protocol": "tcp", "address": "0.0.0.0", "port": p} for p in self.ports]
            if readiness.outcome == "ready"
            else [],
            outbound_attempts=[],  # denied by the NetworkPolicy; Kubescape's endpoints say what was tried
            endpoints=snapshot.endpoints if snapshot else [],
            syscalls=snapshot.syscalls if snapshot else [],
            capabilities=snapshot.capabilities if snapshot else [],
            limits={
                "memory_bytes": self.settings.limits.memory_mb << 20,
                "cpus": self.settings.limits.cpu_millicores / 1000,
                "writable_bytes": self.settings.limits.writable_mb << 20,
            },
            workload_log_tail=self._log_tail(),
        )

    def _incompleteness(self, snapshot: kubescape.ProfileSnapshot | None) -> str:
        """What went wrong while the pod was watched ("" when nothing): the pod stopping, Kubescape's profile
        missing or unfinished."""
        if self.state.outcome not in (None, "ready"):
            return f"the workload stopped during observation ({self.state.outcome}: {self.state.detail})"
        return kubescape.incompleteness(snapshot, self.learning, self.settings.observation_seconds)

    def _log_tail(self, limit: int = TAIL_BYTES) -> str:
        """The log's last bytes, secret values hidden in the whole log first (see log_tail.py): the log is
        streamed whole, since a tail the API cut could start inside a secret."""
        try:
            response = self.sandbox.core.read_namespaced_pod_log(
                self.pod_name, self.settings.namespace, container=CONTAINER, _preload_content=False
            )
            try:
                return redacted_tail(response.stream(CHUNK_BYTES), self.secret_values, limit)
            finally:
                response.release_conn()
        except ApiException:
            return ""
