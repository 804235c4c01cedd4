"""Alembic migrations: empty -> head -> base -> head, on PostgreSQL."""

import os
import uuid

import psycopg2
import pytest
from sqlalchemy import create_engine, inspect

from billing.db import database_url, downgrade, upgrade

TABLES = {
    "organizations", "users", "subscriptions", "billing_events", "stripe_customers", "quota_reservations", "webhook_events",
    "submissions", "api_keys", "watched_repositories", "registry_events", "seen_digests",
}


@pytest.fixture
def empty_database():
    admin = os.environ["DAGSTER_PG_URL"]
    name = f"vexxy_migrations_{uuid.uuid4().hex[:8]}"
    connection = psycopg2.connect(admin)
    connection.autocommit = True
    connection.cursor().execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    yield url
    connection.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


def tables(url):
    engine = create_engine(database_url(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database):
    assert tables(empty_database) == set()
    upgrade(empty_database)
    assert tables(empty_database) == TABLES
    downgrade(empty_database)
    assert tables(empty_database) == set()
    upgrade(empty_database)
    assert tables(empty_database) == TABLES
