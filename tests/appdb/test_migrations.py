"""Alembic migrations: empty -> head -> base -> head on an empty SQLite file and an empty PostgreSQL
database, the models equal to what the migrations build on both, and a history kept apart from Dagster's."""

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from appdb.engine import database_url
from appdb.migrate import LEGACY_VERSION_TABLE, MIGRATIONS, VERSION_TABLE, downgrade, upgrade

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()

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
    "analysis_secrets",
}


@pytest.fixture
def sqlite_database(tmp_path):
    return f"sqlite:///{tmp_path / 'vexxy.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request):
    return request.getfixturevalue(f"{request.param}_database")


def tables(url):
    engine = create_engine(database_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def version(url, table=VERSION_TABLE):
    engine = create_engine(database_url(url))
    try:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT version_num FROM {table}")).scalars().all()
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database):
    assert tables(empty_database) == set()
    upgrade(empty_database)
    assert tables(empty_database) == TABLES | {VERSION_TABLE}
    downgrade(empty_database)
    assert tables(empty_database) == {VERSION_TABLE}
    assert version(empty_database) == []
    upgrade(empty_database)
    assert tables(empty_database) == TABLES | {VERSION_TABLE}


def test_every_step_runs_both_ways(empty_database):
    """Each revision, one at a time up and down."""
    from alembic.script import ScriptDirectory

    from appdb.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(empty_database))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        upgrade(empty_database, revision)
        assert version(empty_database) == [revision]
    for previous in reversed(["base", *revisions[:-1]]):
        downgrade(empty_database, previous)
        assert version(empty_database) == ([] if previous == "base" else [previous])


def test_migrations_match_the_models(empty_database):
    """What the models declare is what the migrations build: no change is left for a new migration to make."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from appdb.models import Base

    upgrade(empty_database)
    engine = create_engine(database_url(empty_database))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_a_database_migrated_before_the_own_version_table_is_adopted(empty_database):
    """Releases before the own version table kept the revision in `alembic_version`: it moves over."""
    upgrade(empty_database, "0002")
    engine = create_engine(database_url(empty_database))
    try:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))
            connection.execute(text(f"CREATE TABLE {LEGACY_VERSION_TABLE} (version_num VARCHAR(32) PRIMARY KEY)"))
            connection.execute(text(f"INSERT INTO {LEGACY_VERSION_TABLE} VALUES ('0002')"))
    finally:
        engine.dispose()
    upgrade(empty_database)
    assert tables(empty_database) == TABLES | {VERSION_TABLE}
    assert version(empty_database) == [HEAD]


def test_another_history_in_alembic_version_is_left_alone(empty_database):
    """A revision that is not ours in `alembic_version` (Dagster's) is neither adopted nor touched."""
    engine = create_engine(database_url(empty_database))
    try:
        with engine.begin() as connection:
            connection.execute(text(f"CREATE TABLE {LEGACY_VERSION_TABLE} (version_num VARCHAR(32) PRIMARY KEY)"))
            connection.execute(text(f"INSERT INTO {LEGACY_VERSION_TABLE} VALUES ('7e2f3204cf8e')"))
    finally:
        engine.dispose()
    upgrade(empty_database)
    assert version(empty_database) == [HEAD]
    assert version(empty_database, LEGACY_VERSION_TABLE) == ["7e2f3204cf8e"]


def insert_organization(url, organization_id, name, created_at):
    engine = create_engine(database_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO organizations (id, name, status, status_changed_at, created_at) "
                    "VALUES (:id, :name, 'active', 0, :created_at)"
                ),
                {"id": organization_id, "name": name, "created_at": created_at},
            )
    finally:
        engine.dispose()


def test_organization_names_become_unique_and_shared_names_stop_the_upgrade(empty_database):
    """0006: two organizations with one name are named and left as they are, for the operator to rename one."""
    from datetime import UTC, datetime

    from sqlalchemy.exc import IntegrityError

    from vexxy.errors import VexxyError

    upgrade(empty_database, "0005")
    for organization_id, name, day in (("org-b", "acme", 2), ("org-a", "acme", 1), ("org-c", "other", 3)):
        insert_organization(empty_database, organization_id, name, datetime(2026, 1, day, tzinfo=UTC))
    with pytest.raises(VexxyError) as refused:
        upgrade(empty_database)
    assert "'acme': org-a, org-b" in refused.value.message and "other" not in refused.value.message
    assert "vexxy appdb upgrade" in refused.value.hint
    assert version(empty_database) == ["0005"]

    engine = create_engine(database_url(empty_database))
    with engine.begin() as connection:
        connection.execute(text("UPDATE organizations SET name = 'acme (old)' WHERE id = 'org-b'"))
    with engine.begin() as connection:  # what refers to an organization stays through the table's rebuild (SQLite)
        connection.execute(
            text("INSERT INTO users (id, organization_id, email, role, created_at) VALUES ('u', 'org-a', 'a@x', 'admin', :t)"),
            {"t": datetime(2026, 1, 5, tzinfo=UTC)},
        )
    upgrade(empty_database)
    assert version(empty_database) == [HEAD]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT organization_id FROM users")).scalars().all() == ["org-a"]
        assert connection.execute(text("SELECT id, name FROM organizations ORDER BY id")).all() == [
            ("org-a", "acme"),
            ("org-b", "acme (old)"),
            ("org-c", "other"),
        ]
    engine.dispose()
    with pytest.raises(IntegrityError):
        insert_organization(empty_database, "org-d", "acme", datetime(2026, 1, 4, tzinfo=UTC))

    downgrade(empty_database, "0005")
    insert_organization(empty_database, "org-d", "acme", datetime(2026, 1, 4, tzinfo=UTC))  # no constraint below 0006
    assert version(empty_database) == ["0005"]
