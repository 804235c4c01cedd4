"""The submission service tests run on the application database's PostgreSQL and on its SQLite default alike."""

import pytest


@pytest.fixture
def app_sessions(app_database):
    return app_database.sessions
