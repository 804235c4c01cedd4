"""The Kubernetes Jobs production submits for the sandbox and Syft steps, built by dagster-k8s itself.

The run launcher is configured as helm/dagster-values.yaml configures it; each step's Job is
put together the way `k8s_job_executor`'s step handler does it (run launcher context, then the
op's `dagster-k8s/config` tags) and checked against Kubernetes' schema.
"""

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from dagster import DagsterRun
from dagster_k8s import K8sRunLauncher, k8s_job_executor
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import construct_dagster_k8s_job, get_k8s_job_name, get_user_defined_k8s_config
from kubernetes.client import ApiClient

from vexxy_pipelines.assets.imports import first_party_imports
from vexxy_pipelines.assets.sandbox import sandbox_session
from vexxy_pipelines.assets.sbom import sbom
from vexxy_pipelines.environment import executor_for

DAGSTER_VALUES = Path(__file__).resolve().parents[2] / "helm" / "dagster-values.yaml"
KUBERNETES_VERSION = "1.33.0"
IMAGE = "ghcr.io/vexxy/vexxy:0.1.0"


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


@pytest.fixture
def run_launcher(tmp_path):
    """The K8sRunLauncher the official chart builds from helm/dagster-values.yaml (no API call is made)."""
    values = yaml.safe_load(DAGSTER_VALUES.read_text())["runLauncher"]["config"]["k8sRunLauncher"]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
                "users": [{"name": "u", "user": {"token": "unused"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return K8sRunLauncher(
        service_account_name="dagster",
        instance_config_map="dagster-instance",
        postgres_password_secret="dagster-postgresql-secret",
        dagster_home="/opt/dagster/dagster_home",
        job_image=IMAGE,
        load_incluster_config=False,
        kubeconfig_file=str(kubeconfig),
        job_namespace="dagster",
        env_secrets=[s["name"] for s in values["envSecrets"]],
        labels=values["labels"],
        run_k8s_config={_snake(k): v for k, v in values["runK8sConfig"].items()},
    )


def step_job(run_launcher: K8sRunLauncher, step_key: str, op_tags: dict[str, str]) -> dict:
    run = DagsterRun(job_name="analyze_image", run_id="0d5f2a4e-8c3b-4a8e-9d57-1f2e3a4b5c6d")
    context = K8sContainerContext.create_for_run(run, run_launcher, include_run_tags=False)
    context = context.merge(K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(op_tags)))
    job_name = f"dagster-step-{get_k8s_job_name(run.run_id, step_key)}"
    job = construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config(None, run_launcher),
        args=["dagster", "api", "execute_step"],
        job_name=job_name,
        pod_name=job_name,
        component="step_worker",
        user_defined_k8s_config=context.run_k8s_config,
        labels={"dagster/job": run.job_name, "dagster/op": step_key, "dagster/run-id": run.run_id},
        env_vars=[{"name": "DAGSTER_RUN_STEP_KEY", "value": step_key}],
    )
    return ApiClient().sanitize_for_serialization(job)


@pytest.mark.parametrize(
    "step_key, op_tags, requests, limits",
    [
        ("sandbox_session", sandbox_session.op.tags, {"cpu": "100m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"}),
        ("sbom", sbom.op.tags, {"cpu": "500m", "memory": "2Gi"}, {"cpu": "2", "memory": "4Gi"}),
        ("first_party_imports", first_party_imports.op.tags, {"cpu": "250m", "memory": "512Mi"}, {"cpu": "1", "memory": "1Gi"}),
    ],
)
def test_step_jobs_carry_their_op_tag_resources_and_validate(run_launcher, step_key, op_tags, requests, limits):
    job = step_job(run_launcher, step_key, op_tags)
    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
    pod = job["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == IMAGE
    assert container["resources"] == {"requests": requests, "limits": limits}
    # What the chart's run launcher adds reaches every step: prober label, evidence volume, secrets.
    assert pod["metadata"]["labels"]["vexxy.dev/prober"] == "true"
    assert {"name": "evidence", "mountPath": "/evidence"} in container["volumeMounts"]
    assert {"secretRef": {"name": "vexxy-pipelines"}} in container["envFrom"]
    assert pod["metadata"]["labels"]["dagster/op"] == step_key


def test_the_sbom_step_gets_more_memory_than_the_sandbox_step(run_launcher):
    sandbox = step_job(run_launcher, "sandbox_session", sandbox_session.op.tags)
    syft = step_job(run_launcher, "sbom", sbom.op.tags)

    def memory_mib(job):
        text = job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]
        return int(text[:-2]) * (1024 if text.endswith("Gi") else 1)

    assert memory_mib(syft) >= 4 * memory_mib(sandbox)


def test_production_runs_each_step_as_a_kubernetes_job():
    assert executor_for("production") is k8s_job_executor
    assert executor_for("local") is None and executor_for("test") is None
