"""The Dagster instance vexxy runs against: SQLite in DAGSTER_HOME, PostgreSQL when configured."""

from __future__ import annotations

from pathlib import Path

from vexxy.settings import vexxy_home
from vexxy_pipelines import settings

RUN_MONITORING_POLL_SECONDS = 10
MANAGED_MARKER = "# managed by vexxy: rewritten to follow DAGSTER_PG_URL / DATABASE_URL"


def postgres_setting() -> tuple[str, str] | None:
    """(variable, URL) that puts Dagster's storage on PostgreSQL, to name it when that database does not answer."""
    setting = settings.dagster_postgres_setting()
    return setting if setting and setting[1].startswith(("postgres://", "postgresql")) else None


def postgres_url() -> str | None:
    """DAGSTER_PG_URL, else DATABASE_URL, as a plain `postgresql://` URL (no SQLAlchemy driver suffix)."""
    setting = postgres_setting()
    if setting is None:
        return None
    scheme, rest = setting[1].split("://", 1)
    return f"postgresql://{rest}"


def run_queue_yaml() -> str:
    """The run queue: per-organization concurrency by tier (a limit per unique organization id)."""
    from billing.pricing import TIERS
    from vexxy_pipelines import tags

    lines = [
        "run_coordinator:",
        "  module: dagster.core.run_coordinator",
        "  class: QueuedRunCoordinator",
        "  config:",
        "    max_concurrent_runs: 16",
        "    tag_concurrency_limits:",
    ]
    for name, plan in TIERS.items():
        lines += [
            f"      - key: {tags.concurrency(name)}",
            "        value:",
            "          applyLimitPerUniqueValue: true",
            f"        limit: {plan.max_concurrency}",
        ]
    return "\n".join(lines) + "\n"


def run_monitoring_yaml() -> str:
    """Run monitoring in the daemon, with a launcher that can tell it a run's worker process is gone:
    a run whose process was SIGKILLed is marked FAILED instead of staying STARTED (never resumed:
    a sandbox session cannot be picked up half-way)."""
    return (
        "run_launcher:\n"
        "  module: vexxy_pipelines.run_launcher\n"
        "  class: LocalRunLauncher\n"
        "run_monitoring:\n"
        "  enabled: true\n"
        f"  poll_interval_seconds: {RUN_MONITORING_POLL_SECONDS}\n"
        "  start_timeout_seconds: 180\n"
        "  cancel_timeout_seconds: 180\n"
        "  max_resume_run_attempts: 0\n"
    )


def instance_yaml(pg_url: str | None) -> str:
    text = f"{MANAGED_MARKER}\ntelemetry:\n  enabled: false\n" + run_queue_yaml() + run_monitoring_yaml()
    if pg_url:
        text += "storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n"
    return text


def ensure_dagster_home() -> Path:
    """Point DAGSTER_HOME somewhere real and write its dagster.yaml (unless the operator wrote their own)."""
    home = Path(settings.dagster_home(str(vexxy_home() / "dagster"))).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    pg_url = postgres_url()
    if pg_url:
        settings.publish_dagster_postgres_url(pg_url)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text().startswith(MANAGED_MARKER):
        wanted = instance_yaml(pg_url)
        if not config.exists() or config.read_text() != wanted:
            config.write_text(wanted)
    return home
