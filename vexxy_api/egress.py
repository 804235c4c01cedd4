"""Customers' references may only make vexxy contact registries outside the deployment (or allowed ones)."""

from __future__ import annotations

from fastapi import Request

from vexxy.oci.egress import RegistryNotAllowed, check_registry
from vexxy_api.errors import ApiError


def refuse_internal_registry(request: Request, registry: str) -> None:
    try:
        check_registry(registry, request.app.state.settings.allowed_registries)
    except RegistryNotAllowed as exc:
        raise ApiError(422, "registry_not_allowed", exc.message, exc.hint) from None
