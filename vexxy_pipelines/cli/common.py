"""What every command shares: the Dagster instance, the terminal, image references, the results directory."""

from __future__ import annotations

import logging
from pathlib import Path

from rich.console import Console

from vexxy.errors import VexxyError
from vexxy.oci.reference import parse_reference

console = Console(stderr=True, soft_wrap=True)
out = Console()


def dagster_instance():
    """The configured Dagster instance; its PostgreSQL not answering is an error naming the variable, not a traceback."""
    from dagster import DagsterInstance
    from dagster_postgres.utils import DagsterPostgresException
    from sqlalchemy.exc import OperationalError

    from appdb.errors import dagster_storage_unreachable
    from vexxy_pipelines.instance import ensure_dagster_home, postgres_setting

    setting = postgres_setting()  # before ensure_dagster_home copies DATABASE_URL into DAGSTER_PG_URL
    ensure_dagster_home()
    logging.disable(logging.WARNING)  # dagster-postgres logs each connection retry with the driver's whole message
    try:
        return DagsterInstance.get()
    except (DagsterPostgresException, OperationalError) as exc:
        if setting is None:
            raise
        cause = exc.__cause__ if isinstance(exc, DagsterPostgresException) and exc.__cause__ else exc
        reason = str(getattr(cause, "orig", None) or cause)
        raise dagster_storage_unreachable(setting[1], reason, setting[0]) from None
    finally:
        logging.disable(logging.NOTSET)


def check_settings() -> None:
    """The settings an analysis reads, checked before anything runs: a value in error is one clear line."""
    from vexxy_pipelines import settings
    from vexxy_pipelines.environment import resources_for

    try:
        resources_for()  # names the integer settings, and refuses an unknown deployment, backend or fuzzer
    except ValueError as exc:
        raise VexxyError(f"{exc}: correct it, or unset it for the default.") from None
    settings.check_integers()
    settings.check_osv_source()


def resolve_reference(text: str):
    """Pin `text` to content with the configured registry settings; returns the resolved image."""
    from dagster import build_resources

    from vexxy_pipelines.environment import resources_for

    ref = parse_reference(text)
    with build_resources({"registry": resources_for()["registry"]}) as resources:
        return resources.registry.resolve(ref)


def out_directory(out: str | None) -> Path | None:
    """`--out`, created now: a path that cannot hold the results is said before the analysis, not after it."""
    if not out:
        return None
    destination = Path(out).resolve()
    try:
        destination.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        hint = "Name a directory (it is created if missing)."
        raise VexxyError(f"Cannot use {out} for the results: {exc.strerror}.", hint=hint) from None
    return destination
