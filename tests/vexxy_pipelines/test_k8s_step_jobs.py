"""The Kubernetes Jobs production submits for the sandbox and Syft steps, submitted by dagster-k8s itself.

An instance whose run launcher is the `K8sRunLauncher` configured as helm/dagster-values.yaml configures
it runs `analyze_image` with the executor `environment.py` gives production; that executor's own step
handler (`k8s_job_executor`'s `launch_step`) submits each step's Job through the real `kubernetes`
client to the API stand-in, and the Job it sent is checked against Kubernetes' schema.
"""

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from dagster import Definitions, define_asset_job
from dagster._config import process_config, resolve_to_config_type
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository
from dagster._core.execution.api import create_execution_plan
from dagster._core.execution.context.system import PlanData, PlanOrchestrationContext
from dagster._core.execution.context_creation_job import create_context_free_log_manager
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.init import InitExecutorContext
from dagster._core.executor.step_delegating.step_handler.base import StepHandlerContext
from dagster._core.instance_for_test import instance_for_test
from dagster._grpc.types import ExecuteStepArgs
from dagster_k8s import k8s_job_executor
from dagster_k8s.executor import _K8S_EXECUTOR_CONFIG_SCHEMA
from kube_api import KubeApiStandIn

from vexxy_pipelines.assets.imports import first_party_imports
from vexxy_pipelines.assets.sandbox import sandbox_session
from vexxy_pipelines.assets.sbom import sbom
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.environment import analysis_executor_for, executor_for, resources_for
from vexxy_pipelines.jobs import analyze_image_job

DAGSTER_VALUES = Path(__file__).resolve().parents[2] / "helm" / "dagster-values.yaml"
KUBERNETES_VERSION = "1.33.0"
IMAGE = "ghcr.io/vexxy/vexxy:0.1.0"


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _snake_keys(value):
    return {_snake(k): v for k, v in value.items()}


@pytest.fixture(scope="module")
def stand_in():
    server = KubeApiStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def instance(stand_in, tmp_path_factory):
    """A Dagster instance with the K8sRunLauncher the official chart builds from helm/dagster-values.yaml, its API
    the stand-in."""
    values = yaml.safe_load(DAGSTER_VALUES.read_text())["runLauncher"]["config"]["k8sRunLauncher"]
    kubeconfig = tmp_path_factory.mktemp("kube") / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": stand_in.url}}],
                "users": [{"name": "u", "user": {"token": "unused"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    launcher = {
        "module": "dagster_k8s",
        "class": "K8sRunLauncher",
        "config": {
            "service_account_name": "dagster",
            "instance_config_map": "dagster-instance",
            "postgres_password_secret": "dagster-postgresql-secret",
            "dagster_home": "/opt/dagster/dagster_home",
            "job_image": IMAGE,
            "load_incluster_config": False,
            "kubeconfig_file": str(kubeconfig),
            "job_namespace": "dagster",
            "env_secrets": [s["name"] for s in values["envSecrets"]],
            "labels": values["labels"],
            "run_k8s_config": _snake_keys(values["runK8sConfig"]),
        },
    }
    with instance_for_test(overrides={"run_launcher": launcher}) as instance:
        yield instance


def step_job(instance, stand_in, step_key: str) -> dict:
    """The Job `k8s_job_executor` submits for `step_key` of an `analyze_image` run, as the API received it."""
    executor_def = analysis_executor_for("production")
    job_def = Definitions(
        assets=defs.assets,
        jobs=[define_asset_job("analyze_image", selection=analyze_image_job.selection, executor_def=executor_def)],
        resources=resources_for("production"),
    ).resolve_job_def("analyze_image")
    job = InMemoryJob(job_def)
    config = process_config(resolve_to_config_type(_K8S_EXECUTOR_CONFIG_SCHEMA), {})
    assert config.success, config.errors
    executor = executor_def.executor_creation_fn(
        InitExecutorContext(job=job, executor_def=executor_def, executor_config=config.value, instance=instance)
    )
    run = instance.create_run_for_job(job_def)
    plan = create_execution_plan(job_def)
    context = StepHandlerContext(
        instance=instance,
        plan_context=PlanOrchestrationContext(
            plan_data=PlanData(
                job=job,
                dagster_run=run,
                instance=instance,
                execution_plan=plan,
                raise_on_error=True,
                retry_mode=RetryMode.DISABLED,
            ),
            log_manager=create_context_free_log_manager(instance, run),
            executor=executor,
            output_capture=None,
        ),
        steps=plan.steps,
        execute_step_args=ExecuteStepArgs(
            ReconstructableJob(
                ReconstructableRepository.for_module("vexxy_pipelines.definitions", "defs"), "analyze_image"
            ).get_python_origin(),
            run.run_id,
            [step_key],
            print_serialized_events=False,
        ),
    )
    list(executor._step_handler.launch_step(context))
    (submitted,) = [
        body
        for (kind, _, _), body in stand_in.bodies.items()
        if kind == "jobs" and run.run_id in str(body) and body["metadata"]["labels"]["dagster/op"] == step_key
    ]
    return submitted


@pytest.mark.parametrize(
    "step_key, op_tags, requests, limits",
    [
        ("sandbox_session", sandbox_session.op.tags, {"cpu": "100m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"}),
        ("sbom", sbom.op.tags, {"cpu": "500m", "memory": "2Gi"}, {"cpu": "2", "memory": "4Gi"}),
        ("first_party_imports", first_party_imports.op.tags, {"cpu": "250m", "memory": "512Mi"}, {"cpu": "1", "memory": "1Gi"}),
    ],
)
def test_step_jobs_carry_their_op_tag_resources_and_validate(instance, stand_in, step_key, op_tags, requests, limits):
    job = step_job(instance, stand_in, step_key)
    assert job["metadata"]["namespace"] == "dagster"
    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
    pod = job["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == IMAGE
    assert container["resources"] == {"requests": requests, "limits": limits}
    assert container["resources"] == json.loads(op_tags["dagster-k8s/config"])["container_config"]["resources"]
    # What the chart's run launcher adds reaches every step: prober label, evidence volume, secrets.
    assert pod["metadata"]["labels"]["vexxy.dev/prober"] == "true"
    assert {"name": "evidence", "mountPath": "/evidence"} in container["volumeMounts"]
    assert {"secretRef": {"name": "vexxy-pipelines"}} in container["envFrom"]
    assert pod["metadata"]["labels"]["dagster/op"] == step_key


def test_the_sbom_step_gets_more_memory_than_the_sandbox_step(instance, stand_in):
    sandbox = step_job(instance, stand_in, "sandbox_session")
    syft = step_job(instance, stand_in, "sbom")

    def memory_mib(job):
        text = job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]
        return int(text[:-2]) * (1024 if text.endswith("Gi") else 1)

    assert memory_mib(syft) >= 4 * memory_mib(sandbox)


def test_production_runs_each_step_as_a_kubernetes_job():
    assert executor_for("production") is k8s_job_executor
    assert analysis_executor_for("production") is k8s_job_executor
    assert executor_for("local") is None and executor_for("test") is None
