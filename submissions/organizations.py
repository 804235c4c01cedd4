"""Organizations are set up by the operator: the API serves only organizations that exist here."""

from __future__ import annotations

from sqlalchemy.orm import Session

from appdb.models import Organization, Subscription
from billing.pricing import TIERS
from vexxy.errors import VexxyError

MAX_NAME = 200  # organizations.name


def create_organization(session: Session, name: str, tier: str) -> str:
    """A new active organization subscribed to `tier`; returns its id (the `org` claim of its tokens)."""
    if not (0 < len(name) <= MAX_NAME and name.isprintable()):
        raise VexxyError(f"An organization's name is 1 to {MAX_NAME} printable characters.")
    if tier not in TIERS:
        raise VexxyError(f"There is no tier {tier!r}.", hint=f"Tiers: {', '.join(TIERS)}.")
    organization = Organization(name=name)
    session.add(organization)
    session.flush()
    session.add(Subscription(organization_id=organization.id, tier=tier))
    return organization.id


def require_organization(session: Session, organization_id: str) -> Organization:
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise VexxyError(f"There is no organization {organization_id!r}.", hint="Create one with `vexxy organization create`.")
    return organization
