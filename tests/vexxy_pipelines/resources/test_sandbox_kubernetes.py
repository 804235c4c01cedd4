"""The daemon's sandbox sweep on the Kubernetes backend: a killed run's objects go once they expire, by label.

The sweep sensor runs with the resource production gets, its API the stand-in: what a run killed mid-analysis
left (pod, Service, NetworkPolicy, the role's Secret) is deleted once past its expiry; another instance's
objects and objects still within their lifetime stay.
"""

import time

from dagster import DagsterInstance, SkipReason, build_sensor_context
from kube_api import KubeApiStandIn

from vexxy.sandbox.kube.manifests import EXPIRES_ANNOTATION, INSTANCE_LABEL, MANAGED_BY, SANDBOX_LABEL
from vexxy_pipelines.resources.sandbox_kubernetes import KubernetesSandboxResource
from vexxy_pipelines.sensors.sandbox import sandbox_sweep_sensor

NAMESPACE = "vexxy-sandbox"
SPECS = {
    "pods": {"containers": [{"name": "workload", "image": "registry.example/x@sha256:" + "ef" * 32}]},
    "services": {"ports": [{"port": 8080}]},
    "networkpolicies": {"podSelector": {}},
    "secrets": None,
}


def leftover(kind: str, sandbox_id: str, instance: str, expires: float) -> dict:
    body = {
        "metadata": {
            "name": f"vexxy-{sandbox_id}",
            "labels": {MANAGED_BY: "vexxy", INSTANCE_LABEL: instance, SANDBOX_LABEL: sandbox_id},
            "annotations": {EXPIRES_ANNOTATION: str(int(expires))},
        }
    }
    if SPECS[kind] is None:
        body["stringData"] = {"API_TOKEN": "x"}
    else:
        body["spec"] = SPECS[kind]
    return body


def test_the_sweep_sensor_removes_expired_objects_of_this_instance_only():
    stand_in = KubeApiStandIn().start()
    try:
        now = time.time()
        for kind in SPECS:
            stand_in.put(kind, NAMESPACE, leftover(kind, "killed", "prod", now - 60))
            stand_in.put(kind, NAMESPACE, leftover(kind, "running", "prod", now + 3600))
            stand_in.put(kind, NAMESPACE, leftover(kind, "theirs", "staging", now - 60))
        resource = KubernetesSandboxResource(api_url=stand_in.url, namespace=NAMESPACE, instance="prod")
        result = sandbox_sweep_sensor(build_sensor_context(instance=DagsterInstance.ephemeral(), resources={"sandbox": resource}))
        assert isinstance(result, SkipReason) and result.skip_message == "Removed 1 sandbox(es)."
        left = {(kind, name) for kind, _, name in stand_in.live()}
        assert left == {(kind, f"vexxy-{who}") for kind in SPECS for who in ("running", "theirs")}
        deletes = [path for method, path in stand_in.requests if method == "DELETE"]
        assert sorted(path.rsplit("/", 2)[-2] for path in deletes) == sorted(SPECS)
        assert all(path.endswith("/vexxy-killed") for path in deletes)
    finally:
        stand_in.stop()
