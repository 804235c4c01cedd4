"""Alembic environment for the application database (URL from the Alembic config or DATABASE_URL).

Batch mode lets every migration alter tables on SQLite (which has no ALTER COLUMN); the history
lives in its own version table so the database can also hold Dagster's storage.
"""

from alembic import context
from sqlalchemy import engine_from_config, pool

from appdb.engine import database_url
from appdb.migrate import VERSION_TABLE, adopt_legacy_version
from appdb.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or database_url()


def run() -> None:
    if context.is_offline_mode():
        context.configure(
            url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True, version_table=VERSION_TABLE
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        adopt_legacy_version(connection, context.script)
        connection.commit()
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, version_table=VERSION_TABLE)
        with context.begin_transaction():
            context.run_migrations()


run()
