"""The application database tests run on PostgreSQL and on the SQLite default alike."""

import pytest


@pytest.fixture
def app_sessions(each_app_database):
    return each_app_database
