"""api keys record who created them (a token's subject need not be a user row)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("created_by", sa.String(length=255), server_default="", nullable=False))
        batch.alter_column("user_id", existing_type=sa.String(length=36), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM api_keys WHERE user_id IS NULL")
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("user_id", existing_type=sa.String(length=36), nullable=False)
        batch.drop_column("created_by")
