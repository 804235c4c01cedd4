"""The one place that says which deployment this is and which resources it gets.

`local` (the default) and `test` run everything on this machine; `production` is where later
backends (Kubernetes sandbox) plug in as different resources, never as branches inside assets.
Settings come from `VEXXY_*` environment variables, read by Dagster at run time (`EnvVar`).
"""

from __future__ import annotations

import os
from typing import Any

from dagster import EnvVar

from vexxy import settings
from vexxy_pipelines.resources.advisory_source import OsvSourceResource
from vexxy_pipelines.resources.evidence_store import EvidenceStore
from vexxy_pipelines.resources.registry import RegistryResource
from vexxy_pipelines.resources.sbom_generator import SyftResource


def deployment_name() -> str:
    return os.environ.get("VEXXY_DEPLOYMENT", "local")


def _env(name: str, default: Any) -> Any:
    """An `EnvVar` when the variable is set (the UI shows where a value comes from), else the default."""
    return EnvVar(name) if os.environ.get(name) else default


def _env_float(name: str, default: float) -> Any:
    return EnvVar.float(name) if os.environ.get(name) else default


def _shared_resources() -> dict[str, Any]:
    return {
        "registry": RegistryResource(
            username=_env("VEXXY_REGISTRY_USERNAME", None),
            password=_env("VEXXY_REGISTRY_PASSWORD", None),
            insecure_registries=_env("VEXXY_INSECURE_REGISTRIES", ""),
            platform=_env("VEXXY_PLATFORM", "linux/amd64"),
        ),
        "syft": SyftResource(binary=_env("VEXXY_SYFT_BINARY", None), timeout_seconds=_env_float("VEXXY_SYFT_TIMEOUT_SECONDS", 900)),
        "evidence": EvidenceStore(root=_env("VEXXY_EVIDENCE_DIR", str(settings.evidence_dir()))),
        "osv": OsvSourceResource(source=_env("VEXXY_OSV_SOURCE", settings.osv_source())),
    }


RESOURCES_BY_DEPLOYMENT = {
    "local": _shared_resources,
    "test": _shared_resources,
    "production": _shared_resources,
}


def resources_for(deployment: str | None = None) -> dict[str, Any]:
    name = deployment or deployment_name()
    if name not in RESOURCES_BY_DEPLOYMENT:
        raise ValueError(f"VEXXY_DEPLOYMENT={name!r} is not one of {', '.join(RESOURCES_BY_DEPLOYMENT)}")
    return RESOURCES_BY_DEPLOYMENT[name]()
