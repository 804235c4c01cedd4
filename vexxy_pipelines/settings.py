"""The pipelines' settings: every environment variable the Dagster code location reads, read here.

A value the operator set becomes an `EnvVar` (the UI shows where it came from); an unset one is the
default, most of which the domain library states (`vexxy.settings`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vexxy import settings as library
from vexxy.errors import VexxyError

SANDBOX_BACKENDS = ("local", "kubernetes")
FUZZERS = ("wapiti", "zap", "none")


def env(name: str, default: Any) -> Any:
    """An `EnvVar` when the variable is set, else the default."""
    from dagster import EnvVar  # here, so that the CLI reads its settings without loading Dagster

    return EnvVar(name) if os.environ.get(name) else default


_INTEGER_SETTINGS: set[str] = set()  # every variable `env_int` was asked for: `check_integers` checks them


def env_int(name: str, default: int) -> Any:
    from dagster import EnvVar

    _INTEGER_SETTINGS.add(name)
    return EnvVar.int(name) if os.environ.get(name) else default


def deployment_name() -> str:
    return os.environ.get("VEXXY_DEPLOYMENT", "local")


def sandbox_backend(default: str) -> str:
    """VEXXY_SANDBOX_BACKEND, else the deployment's own."""
    choice = os.environ.get("VEXXY_SANDBOX_BACKEND", default).lower()
    if choice not in SANDBOX_BACKENDS:
        raise ValueError(f"VEXXY_SANDBOX_BACKEND={choice!r} is not one of {', '.join(SANDBOX_BACKENDS)}")
    return choice


def fuzzer() -> str:
    """VEXXY_FUZZER: wapiti (the default, embedded), zap or none."""
    choice = os.environ.get("VEXXY_FUZZER", "wapiti").lower()
    if choice not in FUZZERS:
        raise ValueError(f"VEXXY_FUZZER={choice!r} is not one of {', '.join(FUZZERS)}")
    return choice


def zap_ajax_spider() -> bool:
    return os.environ.get("VEXXY_ZAP_AJAX_SPIDER", "").lower() in ("1", "true", "yes")


def billing_mode_setting() -> str | None:
    """VEXXY_BILLING_MODE as set (stripe, ledger or off); None: `billing.policy` decides from the Stripe key."""
    return os.environ.get("VEXXY_BILLING_MODE") or None


def in_kubernetes_pod() -> bool:
    """Kubernetes sets KUBERNETES_SERVICE_HOST in every pod: the API server is then found in-cluster."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def refresh_run_partitions(default: int) -> int:
    return int(os.environ.get("VEXXY_REFRESH_RUN_PARTITIONS") or default)


def dagster_postgres_setting() -> tuple[str, str] | None:
    """(variable, URL) when DAGSTER_PG_URL, else DATABASE_URL, is set; the URL may not be PostgreSQL's."""
    for variable in ("DAGSTER_PG_URL", "DATABASE_URL"):
        url = os.environ.get(variable)
        if url:
            return variable, url
    return None


def demo_registry_port() -> int:
    """VEXXY_DEMO_REGISTRY_PORT: the port the local demo registry serves on (5000 when unset)."""
    text = (os.environ.get("VEXXY_DEMO_REGISTRY_PORT") or "5000").strip()
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise VexxyError(
            f"VEXXY_DEMO_REGISTRY_PORT={text[:40]!r} is not a TCP port.",
            hint="Set it to a port number from 1 to 65535, or unset it for 5000.",
        )
    return int(text)


def use_platform(platform: str) -> None:
    """The platform this process's analyses pull (VEXXY_PLATFORM, which the registry resource reads)."""
    os.environ["VEXXY_PLATFORM"] = platform


def dagster_home(default: str) -> str:
    """DAGSTER_HOME, set to `default` for this process and its children when the operator left it unset."""
    return os.environ.setdefault("DAGSTER_HOME", default)


def publish_dagster_postgres_url(url: str) -> None:
    """Dagster's own storage config reads DAGSTER_PG_URL: the URL it should use is set there for it."""
    os.environ["DAGSTER_PG_URL"] = url


def check_integers() -> None:
    """Each integer setting the resources read (`env_int`, once they are built) that is set holds a whole
    number: one that does not is a VexxyError of one line naming it, not a trace from inside the step that reads it."""
    for name in sorted(_INTEGER_SETTINGS):
        value = os.environ.get(name)
        if not value:
            continue
        try:
            int(value)
        except ValueError:
            raise VexxyError(f"{name}={value!r} is not a whole number: set it to one, or unset it for the default.") from None


def check_osv_source() -> None:
    """Every path VEXXY_OSV_SOURCE names exists (URLs are read when the advisories are loaded)."""
    source = library.osv_source()
    for item in [s.strip() for s in source.split(",") if s.strip()]:
        if not item.startswith(("http://", "https://")) and not Path(item).expanduser().exists():
            raise VexxyError(
                f"VEXXY_OSV_SOURCE names {item}, which does not exist: name a directory of OSV records, "
                "an OSV all.zip file or its URL, or unset it for the bundled advisories."
            )
