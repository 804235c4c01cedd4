"""The application database tests run on PostgreSQL and on the SQLite default alike."""

import os

import pytest

from appdb.engine import make_engine, make_sessionmaker
from appdb.migrate import upgrade


@pytest.fixture(params=["postgres", "sqlite"])
def app_sessions(request, tmp_path):
    """Sessions on the test session's PostgreSQL, or on a fresh SQLite file migrated to head."""
    url = os.environ["DATABASE_URL"] if request.param == "postgres" else f"sqlite:///{tmp_path / 'vexxy.db'}"
    if request.param == "sqlite":
        upgrade(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()
