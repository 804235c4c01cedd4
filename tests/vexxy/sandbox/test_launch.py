"""A role's launch on Kubernetes: the pod runs the role's process and variables, opens its ports and probes its
readiness; without a role the pod is the image's own."""

from builders import resolved_image

from vexxy.config.launches import launch_of
from vexxy.config.model import parse
from vexxy.sandbox.kube import manifests
from vexxy.sandbox.kube.pod_state import classify
from vexxy.sandbox.launch import launched

IMAGE = resolved_image(
    "r.example.com/team/app",
    reference="r.example.com/team/app:1",
    digest="sha256:" + "a" * 64,
    config_digest="sha256:" + "b" * 64,
    layers=[],
    entrypoint=["/entry"],
    cmd=["web"],
    env=["PATH=/bin"],
    exposed_ports=["80/tcp"],
)
PLACEMENT = manifests.Placement(namespace="sandbox", instance="test")


def container(launch):
    pod = manifests.pod("abc123", PLACEMENT, launched(IMAGE, launch), manifests.PodLimits(), 0.0, launch)
    return pod["spec"]["containers"][0]


def test_the_pod_runs_the_role():
    web, job = (
        launch_of(role)
        for role in parse(
            {
                "env": {"DATABASE_URL": "x"},
                "secret_env": {"TOKEN": "t"},
                "roles": [
                    {"name": "web", "ports": [8080], "readiness": {"kind": "http", "path": "/healthz", "port": 8080}},
                    {"name": "job", "command": ["python3", "-m", "tasks.cleanup"], "readiness": {"kind": "alive"}},
                ],
            }
        ).effective_roles()
    )
    served = container(web)
    assert served["command"] == ["/entry", "web"] and served["args"] == []
    # A secret value is never in the pod spec (readable with a mere `get pods`): the pod names a Secret's key.
    assert served["env"] == [
        {"name": "DATABASE_URL", "value": "x"},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "vexxy-abc123", "key": "TOKEN"}}},
    ]
    secret = manifests.secret("abc123", PLACEMENT, launched(IMAGE, web), 0.0, web)
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == "vexxy-abc123"
    assert secret["stringData"] == {"TOKEN": "t"} and secret["immutable"] is True
    assert manifests.secret("abc123", PLACEMENT, IMAGE, 0.0, None) is None
    assert [p["containerPort"] for p in served["ports"]] == [80, 8080]
    assert served["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 8080}
    ran = container(job)
    assert ran["command"] == ["python3", "-m", "tasks.cleanup"] and "readinessProbe" not in ran
    job_pod = manifests.pod("abc123", PLACEMENT, launched(IMAGE, job), manifests.PodLimits(), 0.0, job)
    assert job_pod["spec"]["restartPolicy"] == "OnFailure"  # a clean exit ends a job; a failure is retried


def finished(phase: str, code: int) -> dict:
    terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}
    return {"status": {"phase": phase, "containerStatuses": [{"name": "workload", "state": {"terminated": terminated}}]}}


def test_a_job_that_ran_to_a_clean_end_was_ready_a_server_that_ended_was_not():
    assert classify(finished("Succeeded", 0), "workload", 2, 512, completes=True).outcome == "ready"
    assert classify(finished("Succeeded", 0), "workload", 2, 512).outcome == "exited"
    assert classify(finished("Failed", 1), "workload", 2, 512, completes=True).outcome == "exited"


def test_without_a_role_the_pod_is_the_images_own():
    plain = container(None)
    assert "command" not in plain and "env" not in plain
    assert manifests.pod("abc123", PLACEMENT, IMAGE, manifests.PodLimits(), 0.0)["spec"]["restartPolicy"] == "Always"
    assert plain["readinessProbe"] == {"tcpSocket": {"port": 80}, "periodSeconds": 2, "failureThreshold": 1}
