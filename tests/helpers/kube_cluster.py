"""What the kubelet and Kubescape's node agent would write, played against the API stand-in.

`SimulatedNode` watches the sandbox namespace through the real `kubernetes` client and, for each
new pod, plays a scenario: pod status transitions (scheduled, running, Ready; or an image that
cannot be pulled, a crash loop, a pod that never gets Ready) and the node agent's profile
object moving from learning to completed. Tests only.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from kubernetes import watch
from kubernetes.client import ApiClient, Configuration, CoreV1Api, CustomObjectsApi
from kubernetes.client.exceptions import ApiException

GROUP, VERSION = "spdx.softwarecomposition.kubescape.io", "v1beta1"


def api_client(url: str) -> ApiClient:
    configuration = Configuration()
    configuration.host = url
    return ApiClient(configuration)


def application_profile(pod: str, namespace: str, status: str, completion: str, container: dict) -> dict:
    """An ApplicationProfile as the node agent writes it for a bare Pod (one container entry)."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ApplicationProfile",
        "metadata": {
            "name": f"pod-{pod}",
            "namespace": namespace,
            "annotations": {
                "kubescape.io/status": status,
                "kubescape.io/completion": completion,
                "kubescape.io/instance-id": f"apiVersion-v1/namespace-{namespace}/kind-Pod/name-{pod}",
                "kubescape.io/wlid": f"wlid://cluster-test/namespace-{namespace}/pod-{pod}",
            },
            "labels": {
                "kubescape.io/workload-api-version": "v1",
                "kubescape.io/workload-kind": "Pod",
                "kubescape.io/workload-name": pod,
                "kubescape.io/workload-namespace": namespace,
            },
        },
        "spec": {"architectures": ["amd64"], "containers": [container], "initContainers": [], "ephemeralContainers": []},
    }


def running(pod: dict, ready: bool, pod_ip: str) -> dict:
    return {
        "status": {
            "phase": "Running",
            "podIP": pod_ip,
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Initialized", "status": "True"},
                {"type": "ContainersReady", "status": str(ready)},
                {"type": "Ready", "status": str(ready)},
            ],
            "containerStatuses": [
                {
                    "name": "workload",
                    "image": pod["spec"]["containers"][0]["image"],
                    "imageID": pod["spec"]["containers"][0]["image"],
                    "ready": ready,
                    "restartCount": 0,
                    "started": True,
                    "state": {"running": {"startedAt": "2026-11-30T12:00:00Z"}},
                }
            ],
        }
    }


def waiting(pod: dict, reason: str, message: str, restarts: int = 0, last: dict | None = None) -> dict:
    status = {
        "name": "workload",
        "image": pod["spec"]["containers"][0]["image"],
        "imageID": "",
        "ready": False,
        "restartCount": restarts,
        "started": False,
        "state": {"waiting": {"reason": reason, "message": message}},
    }
    if last:
        status["lastState"] = {"terminated": last}
    return {
        "status": {
            "phase": "Pending" if not restarts else "Running",
            "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}],
            "containerStatuses": [status],
        }
    }


@dataclass
class Scenario:
    """What happens to a pod: status patches and profile writes, each after a delay (seconds)."""

    steps: list[tuple[float, Callable[[SimulatedNode, dict], None]]] = field(default_factory=list)


class SimulatedNode:
    def __init__(self, url: str, namespace: str, scenario: Scenario, pod_ip: str = "127.0.0.1"):
        self.api = api_client(url)
        self.core, self.custom = CoreV1Api(self.api), CustomObjectsApi(self.api)
        self.namespace, self.scenario, self.pod_ip = namespace, scenario, pod_ip
        self.seen: list[str] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SimulatedNode:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.api.close()

    def _run(self) -> None:
        version = self.core.list_namespaced_pod(self.namespace).metadata.resource_version
        while not self._stop.is_set():
            try:
                for event in watch.Watch().stream(
                    self.core.list_namespaced_pod, self.namespace, resource_version=version, timeout_seconds=1
                ):
                    version = event["raw_object"]["metadata"]["resourceVersion"]
                    name = event["raw_object"]["metadata"]["name"]
                    if event["type"] == "ADDED" and name not in self.seen:
                        self.seen.append(name)
                        threading.Thread(target=self._play, args=(copy.deepcopy(event["raw_object"]),), daemon=True).start()
            except ApiException as exc:
                if exc.status != 410:
                    self.errors.append(exc)
                    return
                version = self.core.list_namespaced_pod(self.namespace).metadata.resource_version

    def _play(self, pod: dict) -> None:
        try:
            for delay, step in self.scenario.steps:
                if self._stop.wait(delay):
                    return
                step(self, pod)
        except ApiException as exc:
            if exc.status != 404:  # the backend deleted the pod: the scenario simply ends
                self.errors.append(exc)
        except BaseException as exc:
            self.errors.append(exc)

    # --- what the kubelet and the node agent write -------------------------------------------

    def patch_status(self, pod: dict, status: dict) -> None:
        self.core.patch_namespaced_pod_status(pod["metadata"]["name"], self.namespace, status)

    def write_profile(self, pod: dict, status: str, completion: str, container: dict) -> None:
        name = pod["metadata"]["name"]
        body = application_profile(name, self.namespace, status, completion, container)
        try:
            self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, "applicationprofiles", body)
        except ApiException as exc:
            if exc.status != 409:
                raise
            self.custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                "applicationprofiles",
                f"pod-{name}",
                {"metadata": {"annotations": body["metadata"]["annotations"]}, "spec": body["spec"]},
            )

    def write_container_profile(self, pod: dict, status: str, completion: str, container: dict) -> None:
        """The per-container variant: one ContainerProfile whose spec is the container entry itself."""
        name = pod["metadata"]["name"]
        body = application_profile(name, self.namespace, status, completion, container)
        body["kind"], body["metadata"]["name"] = "ContainerProfile", f"pod-{name}-workload"
        body["spec"] = {"architectures": ["amd64"], **{k: v for k, v in container.items() if k != "name"}}
        self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, "containerprofiles", body)
