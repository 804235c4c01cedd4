"""organization names are unique: a name given to the Launchpad, the CLI or an error message means one organization

An application database that already holds two organizations with one name is not changed: the upgrade
stops and names them, for the operator to rename all but one (names are shown to people; which one keeps
the name is theirs to decide).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from vexxy.errors import VexxyError

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _duplicates(connection) -> dict[str, list[str]]:
    organizations = sa.table("organizations", sa.column("id"), sa.column("name"), sa.column("created_at"))
    taken = sa.select(organizations.c.name).group_by(organizations.c.name).having(sa.func.count() > 1).scalar_subquery()
    rows = connection.execute(
        sa.select(organizations.c.name, organizations.c.id)
        .where(organizations.c.name.in_(taken))
        .order_by(organizations.c.name, organizations.c.created_at, organizations.c.id)
    ).all()
    found: dict[str, list[str]] = {}
    for name, organization_id in rows:
        found.setdefault(name, []).append(organization_id)
    return found


def upgrade() -> None:
    duplicates = _duplicates(op.get_bind())
    if duplicates:
        named = "; ".join(f"{name!r}: {', '.join(ids)}" for name, ids in duplicates.items())
        raise VexxyError(
            f"Organization names must be unique, and {len(duplicates)} name(s) are shared (name: ids, oldest first): {named}.",
            hint="Rename all but one organization of each name (UPDATE organizations SET name = '...' WHERE id = '...'), "
            "then run `vexxy appdb upgrade` again.",
        )
    with op.batch_alter_table("organizations") as batch:
        batch.create_unique_constraint("uq_organizations_name", ["name"])


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.drop_constraint("uq_organizations_name", type_="unique")
