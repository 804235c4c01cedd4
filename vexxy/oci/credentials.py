"""Whose analyses the operator's registry login serves.

A login configured for a registry is the operator's, or one an organization gave the operator for its
own private repositories. Another organization naming an image on that registry must get what the
registry answers anyone (a public image, or a clear 401), never what the login can read.
"""

from __future__ import annotations

EVERY_ORGANIZATION = "*"


def parse_organizations(value: str) -> frozenset[str]:
    """Comma-separated organization ids; `*` stands for every organization."""
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def login_serves(organization: str | None, organizations: frozenset[str]) -> bool:
    """Whether an analysis for `organization` (None: the operator's own) may use the login."""
    return organization is None or EVERY_ORGANIZATION in organizations or organization in organizations
