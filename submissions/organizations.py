"""Organizations are set up by the operator: the API serves only organizations that exist here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from appdb.models import Organization, Subscription
from billing.pricing import TIERS
from billing.quota import organization_tier
from vexxy.errors import VexxyError

MAX_NAME = 200  # organizations.name


class OrganizationNameTaken(VexxyError):
    """Another organization has this name: names are unique, so a name always means one organization."""


def name_taken(name: str, holder: str) -> OrganizationNameTaken:
    return OrganizationNameTaken(
        f"An organization named {name!r} exists already ({holder}).",
        hint="Choose another name, or use that organization (`vexxy organization list`).",
    )


def create_organization(session: Session, name: str, tier: str) -> str:
    """A new active organization subscribed to `tier`; returns its id (the `org` claim of its tokens)."""
    if not (0 < len(name) <= MAX_NAME and name.isprintable()):
        raise VexxyError(f"An organization's name is 1 to {MAX_NAME} printable characters.")
    if tier not in TIERS:
        raise VexxyError(f"There is no tier {tier!r}.", hint=f"Tiers: {', '.join(TIERS)}.")
    holder = session.scalar(select(Organization.id).where(Organization.name == name))
    if holder is not None:
        raise name_taken(name, holder)
    organization = Organization(name=name)
    try:
        with session.begin_nested():  # one created at the same moment wins the unique index; this one says so
            session.add(organization)
            session.flush()
    except IntegrityError:
        raise name_taken(name, "created just now") from None
    session.add(Subscription(organization_id=organization.id, tier=tier))
    return organization.id


def require_organization(session: Session, organization_id: str) -> Organization:
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise VexxyError(f"There is no organization {organization_id!r}.", hint="Create one with `vexxy organization create`.")
    return organization


@dataclass(frozen=True)
class OrganizationRow:
    id: str
    name: str
    tier: str
    status: str


def list_organizations(session: Session) -> list[OrganizationRow]:
    """Every organization with the tier it is served on now, oldest first."""
    organizations = session.scalars(select(Organization).order_by(Organization.created_at, Organization.id)).all()
    return [OrganizationRow(o.id, o.name, organization_tier(session, o.id).name, o.status) for o in organizations]


def first_organization(session: Session) -> str | None:
    """The name of the organization created first, if there is one."""
    return session.scalar(select(Organization.name).order_by(Organization.created_at, Organization.id).limit(1))
