"""The objects one analysis creates in the sandbox namespace: a Pod, a Service, a NetworkPolicy.

Every object carries the same labels (the analysis's sandbox id and the vexxy instance) and an
expiry annotation, so a label sweep finds what a killed run left behind. Plain dicts in the
Kubernetes wire format: the client sends them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vexxy.oci.image import ResolvedImage
from vexxy.sandbox.launch import Launch

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "vexxy"
SANDBOX_LABEL = "vexxy.dev/sandbox-id"
INSTANCE_LABEL = "vexxy.dev/instance"
IMAGE_LABEL = "vexxy.dev/image-digest"
EXPIRES_ANNOTATION = "vexxy.dev/expires"
IMAGE_ANNOTATION = "vexxy.dev/image"
CONTAINER = "workload"
WRITABLE_DIRS = ("/tmp", "/var/tmp", "/run")


@dataclass(frozen=True)
class PodLimits:
    memory_mb: int = 512
    cpu_millicores: int = 1000
    writable_mb: int = 256


@dataclass(frozen=True)
class Placement:
    """Where and how the analysis's objects are made."""

    namespace: str
    instance: str
    prober_labels: dict[str, str] = field(default_factory=dict)
    image_pull_secret: str | None = None
    prober_namespaces: tuple[str, ...] = ()  # where the probers run: the step pods', the scanner's (empty: any)


def tcp_ports(exposed: list[str]) -> list[int]:
    ports = []
    for spec in exposed:
        number, _, protocol = spec.partition("/")
        if (protocol or "tcp") == "tcp" and number.isdigit() and 0 < int(number) < 65536:
            ports.append(int(number))
    return sorted(set(ports))


def object_name(sandbox_id: str) -> str:
    return f"vexxy-{sandbox_id}"


def labels(sandbox_id: str, placement: Placement, image: ResolvedImage) -> dict[str, str]:
    return {
        MANAGED_BY: MANAGER,
        SANDBOX_LABEL: sandbox_id,
        INSTANCE_LABEL: placement.instance,
        # Label values stop at 63 characters: a digest prefix, the full reference in an annotation.
        IMAGE_LABEL: image.manifest_digest.split(":", 1)[-1][:40],
    }


def instance_selector(instance: str) -> str:
    return f"{MANAGED_BY}={MANAGER},{INSTANCE_LABEL}={instance}"


def sandbox_selector(sandbox_id: str) -> str:
    return f"{MANAGED_BY}={MANAGER},{SANDBOX_LABEL}={sandbox_id}"


def _metadata(sandbox_id: str, placement: Placement, image: ResolvedImage, expires: float) -> dict:
    return {
        "name": object_name(sandbox_id),
        "namespace": placement.namespace,
        "labels": labels(sandbox_id, placement, image),
        "annotations": {EXPIRES_ANNOTATION: str(int(expires)), IMAGE_ANNOTATION: image.canonical},
    }


def run_as(user: str) -> dict:
    """runAsNonRoot only when the image names a numeric non-root user (the kubelet cannot check a name)."""
    uid, _, gid = (user or "").partition(":")
    if uid.isdigit() and int(uid) != 0:
        context = {"runAsNonRoot": True, "runAsUser": int(uid)}
        if gid.isdigit():
            context["runAsGroup"] = int(gid)
        return context
    return {}


def runs_to_completion(launch: Launch | None) -> bool:
    """A role whose readiness is "alive" (a job, a worker) only has to run: a clean exit ends it well."""
    return launch is not None and launch.readiness is not None and launch.readiness.kind == "alive"


def pod(
    sandbox_id: str, placement: Placement, image: ResolvedImage, limits: PodLimits, expires: float, launch: Launch | None = None
) -> dict:
    """The analyzed image as the image (or the analysis's role, `launch`, with `image` already launched) says
    to run it, with nothing it does not need."""
    ports = tcp_ports(image.config.exposed_ports)
    container = {
        "name": CONTAINER,
        "image": image.canonical,  # by digest: the pod runs exactly the analyzed content
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": port, "protocol": "TCP"} for port in ports],
        "resources": {
            "requests": {"cpu": f"{max(10, limits.cpu_millicores // 10)}m", "memory": f"{limits.memory_mb}Mi"},
            "limits": {
                "cpu": f"{limits.cpu_millicores}m",
                "memory": f"{limits.memory_mb}Mi",
                "ephemeral-storage": f"{limits.writable_mb}Mi",
            },
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
            **run_as(image.config.user),
        },
        "volumeMounts": [
            {"name": "writable", "mountPath": directory, "subPath": directory.strip("/").replace("/", "-")}
            for directory in WRITABLE_DIRS
        ],
    }
    if image.config.working_dir:
        container["workingDir"] = image.config.working_dir
    if launch is not None:
        # The role's process replaces the image's ENTRYPOINT and CMD; its variables are set over the image's.
        container["command"] = list(image.config.entrypoint)
        container["args"] = []
        # A secret value goes in the sandbox's own Secret, never in the pod spec that `get pods` shows.
        container["env"] = [
            {"name": name, "valueFrom": {"secretKeyRef": {"name": object_name(sandbox_id), "key": name}}}
            if name in launch.secret_names
            else {"name": name, "value": value}
            for name, value in sorted(launch.env.items())
        ]
    ready = launch.readiness if launch is not None else None
    if ready is not None and ready.kind == "alive":
        pass
    elif ready is not None and ready.kind == "http" and ports:
        container["readinessProbe"] = {
            "httpGet": {"path": ready.path, "port": ready.port or ports[0]},
            "periodSeconds": 2,
            "failureThreshold": 1,
        }
    elif ports:
        port = ready.port if ready is not None and ready.port else ports[0]
        container["readinessProbe"] = {"tcpSocket": {"port": port}, "periodSeconds": 2, "failureThreshold": 1}
    spec = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "restartPolicy": "OnFailure" if runs_to_completion(launch) else "Always",
        "terminationGracePeriodSeconds": 5,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "writable", "emptyDir": {"sizeLimit": f"{limits.writable_mb}Mi"}}],
    }
    if placement.image_pull_secret:
        spec["imagePullSecrets"] = [{"name": placement.image_pull_secret}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": _metadata(sandbox_id, placement, image, expires), "spec": spec}


def secret(sandbox_id: str, placement: Placement, image: ResolvedImage, expires: float, launch: Launch | None) -> dict | None:
    """The role's secret values, for the pod to read by key (None when it has none); removed with the sandbox."""
    if launch is None or not launch.secret_names:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(sandbox_id, placement, image, expires),
        "type": "Opaque",
        "immutable": True,
        "stringData": {name: launch.env[name] for name in launch.secret_names},
    }


def service(sandbox_id: str, placement: Placement, image: ResolvedImage, expires: float) -> dict:
    ports = tcp_ports(image.config.exposed_ports)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(sandbox_id, placement, image, expires),
        "spec": {
            "type": "ClusterIP",
            "selector": {SANDBOX_LABEL: sandbox_id},
            "ports": [{"name": f"tcp-{port}", "port": port, "targetPort": port, "protocol": "TCP"} for port in ports],
        },
    }


def network_policy(sandbox_id: str, placement: Placement, image: ResolvedImage, expires: float) -> dict:
    """No egress at all; ingress only from the prober/scanner pods, only on the exposed ports."""
    ports = tcp_ports(image.config.exposed_ports)
    ingress = []
    if ports and placement.prober_labels:
        ingress.append(
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchExpressions": [
                                {
                                    "key": "kubernetes.io/metadata.name",
                                    "operator": "In",
                                    "values": sorted(set(placement.prober_namespaces)),
                                }
                            ]
                        }
                        if placement.prober_namespaces
                        else {},
                        "podSelector": {"matchLabels": dict(placement.prober_labels)},
                    }
                ],
                "ports": [{"protocol": "TCP", "port": port} for port in ports],
            }
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(sandbox_id, placement, image, expires),
        "spec": {
            "podSelector": {"matchLabels": {SANDBOX_LABEL: sandbox_id}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": [],
        },
    }
