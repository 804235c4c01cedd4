"""The application database on both backends it runs on: the test session's PostgreSQL and the SQLite default."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from appdb.engine import make_engine, make_sessionmaker
from appdb.migrate import upgrade


@dataclass
class AppDatabase:
    url: str
    sessions: sessionmaker


@contextmanager
def open_app_database(backend: str, directory: Path) -> Iterator[AppDatabase]:
    """PostgreSQL (migrated for the test session) or an SQLite file in `directory`, migrated to head here."""
    url = os.environ["DATABASE_URL"] if backend == "postgres" else f"sqlite:///{directory / 'vexxy.db'}"
    if backend == "sqlite":
        upgrade(url)
    engine = make_engine(url)
    try:
        yield AppDatabase(url, make_sessionmaker(engine))
    finally:
        engine.dispose()
