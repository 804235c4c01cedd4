"""Connecting to the application database: PostgreSQL (`DATABASE_URL`), SQLite as the zero-setup default."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import sessionmaker

from vexxy.settings import vexxy_home


def database_url(explicit: str | None = None) -> str:
    url = explicit or os.environ.get("DATABASE_URL")
    if not url:
        path = vexxy_home() / "vexxy.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


def make_engine(url: str | None = None) -> Engine:
    return create_engine(database_url(url), pool_pre_ping=True, future=True)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False, future=True)


MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "vexxy_alembic_version"  # not Alembic's default: Dagster's storage keeps its own history there
LEGACY_VERSION_TABLE = "alembic_version"


def adopt_legacy_version(connection: Connection, script) -> str | None:
    """Move our revision out of `alembic_version` (where releases before the own version table kept it)
    into `VERSION_TABLE`; a revision that is not ours (Dagster's) stays where it is. Returns the adopted one."""
    from alembic.runtime.migration import MigrationContext

    tables = set(inspect(connection).get_table_names())
    if VERSION_TABLE in tables or LEGACY_VERSION_TABLE not in tables:
        return None
    ours = set()
    for revision in connection.execute(text(f"SELECT version_num FROM {LEGACY_VERSION_TABLE}")).scalars():
        try:
            if script.get_revision(revision) is not None:
                ours.add(revision)
        except Exception:  # Alembic raises its own lookup errors for a revision it does not know: Dagster's
            continue
    if not ours:
        return None
    adopted = max(ours)
    MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).stamp(script, adopted)
    connection.execute(text(f"DELETE FROM {LEGACY_VERSION_TABLE} WHERE version_num = :v"), {"v": adopted})
    if connection.execute(text(f"SELECT COUNT(*) FROM {LEGACY_VERSION_TABLE}")).scalar() == 0:
        connection.execute(text(f"DROP TABLE {LEGACY_VERSION_TABLE}"))
    return adopted


def alembic_config(url: str | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)
