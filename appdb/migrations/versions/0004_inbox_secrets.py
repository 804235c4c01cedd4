"""registry notifications authenticate per watched repository; inbox events name their watched repository

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("watched_repositories") as batch:
        batch.add_column(sa.Column("inbox_prefix", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("inbox_secret_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_watched_repositories_inbox_prefix", ["inbox_prefix"])
    with op.batch_alter_table("registry_events") as batch:
        batch.add_column(sa.Column("watched_repository_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_registry_events_watched_repository",
            "watched_repositories",
            ["watched_repository_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("registry_events") as batch:
        batch.drop_constraint("fk_registry_events_watched_repository", type_="foreignkey")
        batch.drop_column("watched_repository_id")
    with op.batch_alter_table("watched_repositories") as batch:
        batch.drop_constraint("uq_watched_repositories_inbox_prefix", type_="unique")
        batch.drop_column("inbox_secret_hash")
        batch.drop_column("inbox_prefix")
