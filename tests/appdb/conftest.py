"""The application database tests run on PostgreSQL and on the SQLite default alike."""

import os
import uuid

import psycopg2
import pytest


@pytest.fixture
def app_sessions(app_database):
    return app_database.sessions


@pytest.fixture
def postgres_database():
    """The URL of an empty PostgreSQL database of this test's own, dropped after it."""
    admin = os.environ["DAGSTER_PG_URL"]
    name = f"vexxy_empty_{uuid.uuid4().hex[:8]}"
    connection = psycopg2.connect(admin)
    connection.autocommit = True
    connection.cursor().execute(f'CREATE DATABASE "{name}"')
    yield admin.rsplit("/", 1)[0] + "/" + name
    connection.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()
