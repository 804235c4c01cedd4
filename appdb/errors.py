"""A database that cannot be reached, said in terms of the setting that points at it."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from vexxy.errors import VexxyError


def shown(url: str) -> str:
    """Where a URL points, without its password: `host:port/database`, or the SQLite file."""
    try:
        parsed = make_url(url)
    except Exception:  # an unparsable URL is shown as the scheme only, never with what may be a secret
        return url.split(":", 1)[0] + "://…"
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


class DatabaseUnreachable(VexxyError):
    """A database named by `variable` did not answer."""

    def __init__(self, what: str, variable: str, url: str, reason: str, hint: str):
        self.variable, self.url = variable, shown(url)
        first_line = (reason.strip().splitlines() or ["no answer"])[0]
        super().__init__(f"{what} at {self.url} ({variable}) is not reachable: {first_line}", hint=hint)


def application_database_unreachable(url: str, reason: str, variable: str = "DATABASE_URL") -> DatabaseUnreachable:
    return DatabaseUnreachable(
        "The application database",
        variable,
        url,
        reason,
        hint=f"Start that PostgreSQL or point {variable} at one that answers; unset {variable} to use SQLite in VEXXY_HOME.",
    )


def dagster_storage_unreachable(url: str, reason: str, variable: str) -> DatabaseUnreachable:
    return DatabaseUnreachable(
        "Dagster's storage",
        variable,
        url,
        reason,
        hint=(
            f"Start that PostgreSQL or point {variable} at one that answers; "
            "unset DAGSTER_PG_URL and DATABASE_URL to keep Dagster's storage in SQLite under DAGSTER_HOME."
        ),
    )
