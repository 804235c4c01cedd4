"""analysis configurations: submissions keep their public configuration and its hash; secret values are
kept encrypted only while their analysis runs; watched repositories carry a default configuration

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("config", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("config_hash", sa.String(length=80), nullable=True))
    with op.batch_alter_table("watched_repositories") as batch:
        batch.add_column(sa.Column("default_config", sa.JSON(), nullable=True))
    op.create_table(
        "analysis_secrets",
        sa.Column("owner_id", sa.String(length=64), primary_key=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("analysis_secrets")
    with op.batch_alter_table("watched_repositories") as batch:
        batch.drop_column("default_config")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("config_hash")
        batch.drop_column("config")
