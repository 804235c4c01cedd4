"""Schema migrations of the application database (Alembic, in appdb/migrations).

The history is kept in its own version table, not Alembic's default `alembic_version`, so one
database can also hold Dagster's storage (which keeps its history there).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from appdb.engine import check_url_reachable, database_url

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "vexxy_alembic_version"
LEGACY_VERSION_TABLE = "alembic_version"  # where releases before the own version table kept ours


def alembic_config(url: str | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    from alembic import command

    check_url_reachable(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    from alembic import command

    check_url_reachable(url)
    command.downgrade(alembic_config(url), revision)


def adopt_legacy_version(connection: Connection, script) -> str | None:
    """Move our revision out of `alembic_version` into `VERSION_TABLE`; a revision that is not ours
    (Dagster's) stays where it is. Returns the revision adopted, if any."""
    from alembic.runtime.migration import MigrationContext
    from alembic.util import CommandError

    tables = set(inspect(connection).get_table_names())
    if VERSION_TABLE in tables or LEGACY_VERSION_TABLE not in tables:
        return None
    ours = []
    for revision in connection.execute(text(f"SELECT version_num FROM {LEGACY_VERSION_TABLE}")).scalars():
        try:
            script.get_revision(revision)
        except CommandError:  # not in our history
            continue
        ours.append(revision)
    if not ours:
        return None
    adopted = max(ours)  # the history is linear and numbered: one head
    MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).stamp(script, adopted)
    for revision in ours:
        connection.execute(text(f"DELETE FROM {LEGACY_VERSION_TABLE} WHERE version_num = :revision"), {"revision": revision})
    if connection.execute(text(f"SELECT COUNT(*) FROM {LEGACY_VERSION_TABLE}")).scalar() == 0:
        connection.execute(text(f"DROP TABLE {LEGACY_VERSION_TABLE}"))
    return adopted
