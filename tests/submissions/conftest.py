"""The submission service tests run on the application database's PostgreSQL and on its SQLite default alike."""

import pytest


@pytest.fixture
def app_sessions(each_app_database):
    return each_app_database
