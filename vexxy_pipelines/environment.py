"""The one place that says which deployment this is and which resources it gets.

`local` (the default) and `test` run everything on this machine; `production` runs the workload
in Kubernetes (profiled by Kubescape) and each step as a Kubernetes Job. The sandbox backend can
also be chosen with `VEXXY_SANDBOX_BACKEND` (local | kubernetes). Backends are different
resources, never branches inside assets.
Settings come from `VEXXY_*` environment variables (`vexxy_pipelines.settings`), read by Dagster at run time
(`EnvVar`).
"""

from __future__ import annotations

from typing import Any

from dagster import EnvVar, ExecutorDefinition, multiprocess_executor
from dagster_k8s import k8s_job_executor

from vexxy import settings as library
from vexxy_pipelines import settings
from vexxy_pipelines.resources.advisory_source import OsvSourceResource
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.attestation import AttestationSignerResource
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.fuzzer import FuzzerResource, NoFuzzerResource, WapitiResource, ZapResource
from vexxy_pipelines.resources.registry import RegistryResource
from vexxy_pipelines.resources.sandbox import LocalSandboxResource, SandboxResource
from vexxy_pipelines.resources.sandbox_kubernetes import KubernetesSandboxResource
from vexxy_pipelines.resources.sbom_generator import SyftResource
from vexxy_pipelines.resources.stripe_billing import StripeResource
from vexxy_pipelines.settings import env, env_int


def _shared_resources() -> dict[str, Any]:
    return {
        "registry": RegistryResource(
            username=env("VEXXY_REGISTRY_USERNAME", None),
            password=env("VEXXY_REGISTRY_PASSWORD", None),
            credentials_for=env("VEXXY_REGISTRY_CREDENTIALS_FOR", ""),
            credentials_organizations=env("VEXXY_REGISTRY_CREDENTIALS_ORGANIZATIONS", ""),
            insecure_registries=env("VEXXY_INSECURE_REGISTRIES", ""),
            allowed_registries=env("VEXXY_ALLOWED_REGISTRIES", ""),
            platform=env("VEXXY_PLATFORM", "linux/amd64"),
        ),
        "syft": SyftResource(binary=env("VEXXY_SYFT_BINARY", None), timeout_seconds=env_int("VEXXY_SYFT_TIMEOUT_SECONDS", 900)),
        "evidence": EvidenceStore(root=env("VEXXY_EVIDENCE_DIR", str(library.evidence_dir()))),
        "osv": OsvSourceResource(source=env("VEXXY_OSV_SOURCE", library.osv_source())),
        "app_db": AppDatabaseResource(url=env("DATABASE_URL", None)),
        "stripe": StripeResource(api_key=env("STRIPE_API_KEY", None), api_base=env("STRIPE_API_BASE", None)),
        "attestation_signer": AttestationSignerResource(
            signing_key=env("VEXXY_ATTESTATION_KEY", None),
            signing_key_file=env("VEXXY_ATTESTATION_KEY_FILE", None),
            signing_key_password=env("VEXXY_ATTESTATION_KEY_PASSWORD", None),
        ),
    }


def _local_sandbox() -> LocalSandboxResource:
    return LocalSandboxResource(
        state_dir=env("VEXXY_SANDBOX_STATE_DIR", str(library.sandbox_state_dir())),
        cache_dir=env("VEXXY_SANDBOX_CACHE_DIR", str(library.sandbox_cache_dir())),
        observation_seconds=env_int("VEXXY_OBSERVATION_SECONDS", library.DEFAULT_OBSERVATION_SECONDS),
        quiet_seconds=env_int("VEXXY_QUIET_SECONDS", 10),
        readiness_timeout_seconds=env_int("VEXXY_READINESS_TIMEOUT_SECONDS", 30),
        readiness_probe=env("VEXXY_READINESS_PROBE", "tcp"),
        memory_mb=env_int("VEXXY_SANDBOX_MEMORY_MB", library.DEFAULT_SANDBOX_MEMORY_MB),
        pids=env_int("VEXXY_SANDBOX_PIDS", 256),
        cpu_millicores=env_int("VEXXY_SANDBOX_CPU_MILLICORES", library.DEFAULT_SANDBOX_CPU_MILLICORES),
        writable_mb=env_int("VEXXY_SANDBOX_WRITABLE_MB", library.DEFAULT_SANDBOX_WRITABLE_MB),
        hard_limit_seconds=env_int("VEXXY_SANDBOX_HARD_LIMIT_SECONDS", 0),
        max_entries=env_int("VEXXY_SANDBOX_MAX_ENTRIES", 65536),
        cache_mb=env_int("VEXXY_SANDBOX_CACHE_MB", 10240),
        cache_entries=env_int("VEXXY_SANDBOX_CACHE_ENTRIES", 1_000_000),
    )


def _kubernetes_sandbox() -> KubernetesSandboxResource:
    return KubernetesSandboxResource(
        namespace=env("VEXXY_K8S_SANDBOX_NAMESPACE", "vexxy-sandbox"),
        instance=env("VEXXY_INSTANCE", "default"),
        prober_labels=env("VEXXY_K8S_PROBER_LABELS", "vexxy.dev/prober=true"),
        prober_namespace=env("VEXXY_K8S_PROBER_NAMESPACE", None),
        image_pull_secret=env("VEXXY_K8S_IMAGE_PULL_SECRET", None),
        api_url=env("VEXXY_K8S_API_URL", None),
        kubeconfig=env("KUBECONFIG", None),
        observation_seconds=env_int("VEXXY_OBSERVATION_SECONDS", library.DEFAULT_OBSERVATION_SECONDS),
        readiness_timeout_seconds=env_int("VEXXY_READINESS_TIMEOUT_SECONDS", 120),
        completion_grace_seconds=env_int("VEXXY_K8S_COMPLETION_GRACE_SECONDS", 120),
        memory_mb=env_int("VEXXY_SANDBOX_MEMORY_MB", library.DEFAULT_SANDBOX_MEMORY_MB),
        cpu_millicores=env_int("VEXXY_SANDBOX_CPU_MILLICORES", library.DEFAULT_SANDBOX_CPU_MILLICORES),
        writable_mb=env_int("VEXXY_SANDBOX_WRITABLE_MB", library.DEFAULT_SANDBOX_WRITABLE_MB),
        kubescape_namespace=env("VEXXY_KUBESCAPE_NAMESPACE", "kubescape"),
        node_agent_config_map=env("VEXXY_KUBESCAPE_NODE_AGENT_CONFIG_MAP", "node-agent"),
        profile_kind=env("VEXXY_K8S_PROFILE_KIND", "applicationprofiles"),
    )


SANDBOX_RESOURCES = {"local": _local_sandbox, "kubernetes": _kubernetes_sandbox}


def _sandbox(default: str) -> SandboxResource:
    """The deployment's sandbox backend, unless VEXXY_SANDBOX_BACKEND names another."""
    return SANDBOX_RESOURCES[settings.sandbox_backend(default)]()


def _fuzzer() -> FuzzerResource:
    """One setting picks the scanner: VEXXY_FUZZER=wapiti (default), zap or none."""
    choice = settings.fuzzer()
    common = {"budget_seconds": env_int("VEXXY_FUZZ_BUDGET_SECONDS", 40), "idle_seconds": env_int("VEXXY_FUZZ_IDLE_SECONDS", 5)}
    if choice == "zap":
        return ZapResource(
            api_url=EnvVar("VEXXY_ZAP_URL"),
            api_key=env("VEXXY_ZAP_API_KEY", None),
            scan_policy=env("VEXXY_ZAP_SCAN_POLICY", None),
            ajax_spider=settings.zap_ajax_spider(),
            **common,
        )
    if choice == "none":
        return NoFuzzerResource(**common)
    return WapitiResource(binary=env("VEXXY_WAPITI_BINARY", None), **common)


def _local_resources() -> dict[str, Any]:
    return {**_shared_resources(), "sandbox": _sandbox("local"), "fuzzer": _fuzzer()}


def _production_resources() -> dict[str, Any]:
    return {**_shared_resources(), "sandbox": _sandbox("kubernetes"), "fuzzer": _fuzzer()}


RESOURCES_BY_DEPLOYMENT = {
    "local": _local_resources,
    "test": _local_resources,
    "production": _production_resources,
}


def resources_for(deployment: str | None = None) -> dict[str, Any]:
    name = deployment or settings.deployment_name()
    if name not in RESOURCES_BY_DEPLOYMENT:
        raise ValueError(f"VEXXY_DEPLOYMENT={name!r} is not one of {', '.join(RESOURCES_BY_DEPLOYMENT)}")
    return RESOURCES_BY_DEPLOYMENT[name]()


# Production: the K8sRunLauncher starts each run as a Job and k8s_job_executor each step as a Job
# of its own, sized by the assets' `dagster-k8s/config` op tags. Elsewhere: Dagster's default.
EXECUTOR_BY_DEPLOYMENT: dict[str, ExecutorDefinition] = {"production": k8s_job_executor}


def executor_for(deployment: str | None = None) -> ExecutorDefinition | None:
    return EXECUTOR_BY_DEPLOYMENT.get(deployment or settings.deployment_name())


# `analyze_image` elsewhere: `sbom` and the sandbox session both need only `image`, so two step
# processes let Syft inventory the image while the sandbox observes it. Step processes fork from a
# server that has already imported the code, so a step starts in well under a second.
LOCAL_ANALYSIS_EXECUTOR = multiprocess_executor.configured(
    {"max_concurrent": 2, "start_method": {"forkserver": {"preload_modules": ["vexxy_pipelines.definitions"]}}},
    name="analysis_executor",
)


def analysis_executor_for(deployment: str | None = None) -> ExecutorDefinition:
    return EXECUTOR_BY_DEPLOYMENT.get(deployment or settings.deployment_name(), LOCAL_ANALYSIS_EXECUTOR)
