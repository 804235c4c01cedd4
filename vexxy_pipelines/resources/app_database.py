"""The application database (appdb: organizations, billing, submissions): PostgreSQL in production, SQLite by default."""

from __future__ import annotations

from functools import lru_cache

from dagster import ConfigurableResource
from pydantic import Field
from sqlalchemy.orm import sessionmaker

from appdb.engine import check_reachable, database_url, make_engine, make_sessionmaker
from appdb.migrate import upgrade


@lru_cache(maxsize=4)
def _sessions(url: str) -> sessionmaker:
    if url.startswith("sqlite"):
        upgrade(url)  # the zero-setup default migrates itself; PostgreSQL is migrated by its operator
    return make_sessionmaker(make_engine(url))


class AppDatabaseResource(ConfigurableResource):
    url: str | None = Field(default=None, description="SQLAlchemy URL; default DATABASE_URL, else SQLite in VEXXY_HOME.")

    def sessions(self) -> sessionmaker:
        """Sessions on a database that answered just now (else `DatabaseUnreachable`, naming DATABASE_URL)."""
        sessions = _sessions(database_url(self.url))
        check_reachable(sessions.kw["bind"])
        return sessions
