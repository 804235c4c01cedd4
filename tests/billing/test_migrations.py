"""Alembic migrations: empty -> head -> base -> head, on PostgreSQL."""

import os
import uuid

import psycopg2
import pytest
from sqlalchemy import create_engine, inspect

from billing.db import database_url, downgrade, upgrade

TABLES = {
    "organizations",
    "users",
    "subscriptions",
    "billing_events",
    "stripe_customers",
    "quota_reservations",
    "webhook_events",
    "submissions",
    "api_keys",
    "watched_repositories",
    "registry_events",
    "seen_digests",
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


def test_migrations_match_the_models(empty_database):
    """What the models declare is what the migrations build: no change is left for a new migration to make."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from billing.models import Base

    upgrade(empty_database)
    engine = create_engine(database_url(empty_database))
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
