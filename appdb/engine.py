"""Connecting to the application database: PostgreSQL (`DATABASE_URL`), SQLite as the zero-setup default."""

from __future__ import annotations

import os

from sqlalchemy import create_engine
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


def make_engine(url: str | None = None) -> Engine:
    return create_engine(database_url(url), pool_pre_ping=True, future=True)


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
