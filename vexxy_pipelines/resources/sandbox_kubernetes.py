"""The production sandbox backend: the image as a pod in a sandbox namespace, profiled by Kubescape.

Chosen in `environment.py` (production, or `VEXXY_SANDBOX_BACKEND=kubernetes`); the asset sees
only `SandboxResource`. Inside the cluster it uses the pod's service account (bound by
helm/vexxy's Role to the sandbox namespace); outside, a kubeconfig or an API URL.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator

from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration, CoreV1Api, NetworkingV1Api
from pydantic import Field

from vexxy import settings as library
from vexxy.imports.routes import registry_routes
from vexxy.sandbox.kube.backend import KubernetesSandbox, KubeSettings
from vexxy.sandbox.kube.manifests import PodLimits
from vexxy.sandbox.kube.sweep import sweep as kube_sweep
from vexxy_pipelines import settings
from vexxy_pipelines.resources.sandbox import SandboxResource

_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def parse_labels(text: str) -> dict[str, str]:
    """`k=v,k2=v2` -> {k: v, k2: v2}."""
    labels = {}
    for pair in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"label {pair!r} is not key=value")
        labels[key.strip()] = value.strip()
    return labels


def parse_namespaces(text: str) -> tuple[str, ...]:
    """`dagster, vexxy` -> ("dagster", "vexxy"); a name Kubernetes would not accept is refused (it would match no
    namespace, and the workload would silently be unreachable)."""
    names = {n.strip() for n in (text or "").split(",") if n.strip()}
    for name in names:
        if not _NAMESPACE.fullmatch(name):
            raise ValueError(f"{name!r} is not a Kubernetes namespace name")
    return tuple(sorted(names))


class KubernetesSandboxResource(SandboxResource):
    """A Pod + Service + NetworkPolicy per analysis; the profile is Kubescape's ApplicationProfile."""

    namespace: str = Field(default="vexxy-sandbox", description="The sandbox namespace (helm/vexxy creates it).")
    instance: str = Field(default="default", description="Labels every object, so sweeps touch only this instance's.")
    prober_labels: str = Field(
        default="vexxy.dev/prober=true", description="k=v,... of the pods allowed to reach workloads (Dagster's step pods)."
    )
    prober_namespace: str | None = Field(
        default=None,
        description="The namespaces of those pods, comma-separated (Dagster's, and ZAP's when it scans); default: any.",
    )
    image_pull_secret: str | None = Field(default=None, description="Pull secret in the sandbox namespace, by name.")
    api_url: str | None = Field(default=None, description="Kubernetes API URL (no auth); default: in-cluster or kubeconfig.")
    kubeconfig: str | None = Field(default=None, description="Kubeconfig file when not running in the cluster.")
    observation_seconds: int = Field(default=library.DEFAULT_OBSERVATION_SECONDS, description="Longest observation window.")
    readiness_timeout_seconds: int = 120
    completion_grace_seconds: int = Field(default=120, description="How long after the window Kubescape may take to finish.")
    memory_mb: int = library.DEFAULT_SANDBOX_MEMORY_MB
    cpu_millicores: int = library.DEFAULT_SANDBOX_CPU_MILLICORES
    writable_mb: int = library.DEFAULT_SANDBOX_WRITABLE_MB
    max_restarts: int = 2
    kubescape_namespace: str = "kubescape"
    node_agent_config_map: str = "node-agent"
    profile_kind: str = Field(default="applicationprofiles", description="applicationprofiles or containerprofiles.")

    def settings(self, observation_seconds: int | None = None) -> KubeSettings:
        return KubeSettings(
            namespace=self.namespace,
            instance=self.instance,
            prober_labels=parse_labels(self.prober_labels),
            image_pull_secret=self.image_pull_secret or None,
            prober_namespaces=parse_namespaces(self.prober_namespace or ""),
            limits=PodLimits(self.memory_mb, self.cpu_millicores, self.writable_mb),
            observation_seconds=observation_seconds or self.observation_seconds,
            readiness_timeout=self.readiness_timeout_seconds,
            completion_grace=self.completion_grace_seconds,
            max_restarts=self.max_restarts,
            kubescape_namespace=self.kubescape_namespace,
            node_agent_config_map=self.node_agent_config_map,
            profile_kind=self.profile_kind,
        )

    def api_client(self) -> ApiClient:
        if self.api_url:
            configuration = Configuration()
            configuration.host = self.api_url
            return ApiClient(configuration)
        if settings.in_kubernetes_pod():
            configuration = Configuration()
            kube_config.load_incluster_config(client_configuration=configuration)
            return ApiClient(configuration)
        return kube_config.new_client_from_config(config_file=self.kubeconfig)

    def sweep(self, run_alive: Callable[[str], bool]) -> list[str]:
        """Objects carry their expiry, so the sweep needs no run status."""
        api = self.api_client()
        try:
            return kube_sweep(CoreV1Api(api), NetworkingV1Api(api), self.namespace, self.instance, time.time())
        finally:
            api.close()

    @contextlib.contextmanager
    def backend(self, registry, observation_seconds=None) -> Iterator[KubernetesSandbox]:
        api, client = self.api_client(), registry.client()
        try:
            yield KubernetesSandbox(self.settings(observation_seconds), api, client, read_routes=registry_routes)
        finally:
            client.close()
            api.close()
