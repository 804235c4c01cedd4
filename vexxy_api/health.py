"""Health endpoints for the orchestrator, without authentication: `/healthz` (the process answers) and
`/readyz` (the application database answers too). Neither says more than that."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from sqlalchemy import text

from vexxy_api.errors import DATABASE_DOWN, DATABASE_RETRY_SECONDS, ApiError, correlation_id
from vexxy_api.logs import log_event

log = logging.getLogger("vexxy.api")
router = APIRouter()


class NotReady(ApiError):
    def __init__(self):
        super().__init__(
            503,
            "not_ready",
            "The service's database is not answering; this replica takes no requests until it does.",
            "Check that the application database (DATABASE_URL) is up and reachable from the API; the API's log names the error.",
            headers={"Retry-After": str(DATABASE_RETRY_SECONDS)},
        )


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> dict:
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DATABASE_DOWN as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[:1]
        log_event(log, logging.ERROR, "not_ready", error=reason[0] if reason else "", correlation_id=correlation_id(request))
        raise NotReady() from None
    return {"status": "ok", "database": "ok"}
