"""Connecting to the application database: PostgreSQL (`DATABASE_URL`), SQLite as the zero-setup default."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
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


SQLITE_BUSY_TIMEOUT_SECONDS = 30


def make_engine(url: str | None = None) -> Engine:
    url = database_url(url)
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, future=True)
    engine = create_engine(url, pool_pre_ping=True, future=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
    _serialize_sqlite_transactions(engine)
    return engine


def _serialize_sqlite_transactions(engine: Engine) -> None:
    """Every SQLite transaction takes the write lock when it begins (BEGIN IMMEDIATE), so a read followed
    by a write (a quota check and its reservation) cannot interleave with another's: SQLite's answer to
    PostgreSQL's row lock. Others wait up to the busy timeout instead of failing at their first write."""

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # the driver would BEGIN (deferred) on its own otherwise

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def check_reachable(engine: Engine) -> None:
    """Connect once; a database that does not answer raises `DatabaseUnreachable` naming DATABASE_URL."""
    from appdb.errors import application_database_unreachable

    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        raise application_database_unreachable(engine.url.render_as_string(hide_password=True), str(exc.orig)) from None


def check_url_reachable(url: str | None = None) -> None:
    """`check_reachable` for a URL (default DATABASE_URL, else the SQLite file), with an engine of its own."""
    engine = make_engine(url)
    try:
        check_reachable(engine)
    finally:
        engine.dispose()


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False, future=True)
