"""The application database behind the API tests that run on both engines: PostgreSQL and SQLite."""

import os
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import sessionmaker

from appdb.engine import make_engine, make_sessionmaker
from appdb.migrate import upgrade


@dataclass
class AppDatabase:
    url: str
    sessions: sessionmaker


@pytest.fixture(params=["postgresql", "sqlite"])
def app_database(request, tmp_path):
    """PostgreSQL (migrated for the test session) or an SQLite file migrated to head here."""
    if request.param == "postgresql":
        url = os.environ["DATABASE_URL"]
    else:
        url = f"sqlite:///{tmp_path / 'vexxy.db'}"
        upgrade(url)
    engine = make_engine(url)
    yield AppDatabase(url, make_sessionmaker(engine))
    engine.dispose()
