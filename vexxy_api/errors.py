"""One error hierarchy, one JSON shape: `{"error": {"code", "message", "hint", "correlation_id"}}`.

Validation 400/422, unauthenticated 401, forbidden 403, not found 404, invalid state 409,
payment required 402, quota 429, upstream 502/503/504 (503 also when the application database does
not answer). Every error has a hint: its own, or its status's (`default_hint`). The correlation id
is also in the logs and in the Dagster run's tags.
"""

from __future__ import annotations

import logging
import time
import uuid

import sqlalchemy.exc
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vexxy_api.logs import current_correlation_id, log_event

log = logging.getLogger("vexxy.api")
CORRELATION_HEADER = "X-Correlation-ID"

_STATUS_HINTS = {
    400: "Correct the request as the message says; the endpoints are described at /api/v1/docs.",
    401: "Send a valid bearer token or API key: `Authorization: Bearer <token>`.",
    402: "Settle the organization's billing (GET /api/v1/billing names its state), then retry.",
    403: "Use a token of the organization and role this needs; an organization's admins can help.",
    404: "Check the path and the id; another organization's resources are never shown.",
    405: "See /api/v1/docs for the methods each endpoint takes.",
    409: "Read the resource's current state and retry once it allows this.",
    413: "Send a smaller body.",
    414: "Send a shorter URL; filters belong in the query, ids in the path.",
    422: "Correct the fields the message names; the schema is at /api/v1/openapi.json.",
    429: "Retry after the time in Retry-After.",
}
_SERVER_HINT = "Retry shortly; quote the correlation id to support if it persists."


def default_hint(status: int) -> str:
    """What a caller can do about an error of this status, for errors that bring no hint of their own."""
    return _STATUS_HINTS.get(status) or (_SERVER_HINT if status >= 500 else "Quote the correlation id to support.")


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict | None = None,
    ):
        self.status, self.code, self.message, self.hint, self.headers, self.extra = (
            status,
            code,
            message,
            hint or default_hint(status),
            headers or {},
            extra or {},
        )
        super().__init__(message)


class NotFound(ApiError):
    def __init__(self, what: str):
        super().__init__(404, "not_found", f"{what} not found.")


class InvalidState(ApiError):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(409, "invalid_state", message, hint)


def correlation_id(request: Request) -> str:
    return getattr(request.state, "correlation_id", "") or "-"


def _body(request: Request, code: str, message: str, hint: str, extra: dict | None = None) -> dict:
    error = {
        "code": code,
        "message": message,
        "hint": hint,
        **(extra or {}),
        "correlation_id": correlation_id(request),
    }
    return {"error": error}


async def render_api_error(request: Request, exc: ApiError) -> JSONResponse:
    log_event(log, logging.INFO, "api_error", code=exc.code, status=exc.status, correlation_id=correlation_id(request))
    return JSONResponse(_body(request, exc.code, exc.message, exc.hint, exc.extra), status_code=exc.status, headers=exc.headers)


_HTTP_CODES = {
    404: ("not_found", "No endpoint answers this path."),
    405: ("method_not_allowed", "This endpoint does not take {method}."),
}


async def render_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """What the router answers itself (no such path, another method) in the API's error form."""
    code, message = _HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail)))
    body = _body(
        request,
        code,
        message.format(method=request.method),
        "See /api/v1/docs for the endpoints." if code != "http_error" else default_hint(exc.status_code),
    )
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def render_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
    return JSONResponse(
        _body(request, "validation_error", f"The request is invalid: {details}", default_hint(422)), status_code=422
    )


DATABASE_DOWN = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.TimeoutError)
DATABASE_RETRY_SECONDS = 5


async def render_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The application database did not answer (down, unreachable, pool exhausted): 503, try again shortly."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0:1]
    log_event(
        log, logging.ERROR, "database_unavailable", error=reason[0] if reason else "", correlation_id=correlation_id(request)
    )
    return JSONResponse(
        _body(
            request,
            "database_unavailable",
            "The service's database is not answering right now; nothing was changed.",
            f"Retry in {DATABASE_RETRY_SECONDS} s; quote the correlation id to support if it persists.",
        ),
        status_code=503,
        headers={"Retry-After": str(DATABASE_RETRY_SECONDS)},
    )


async def render_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log_event(log, logging.ERROR, "unhandled_error", error=repr(exc), correlation_id=correlation_id(request))
    return JSONResponse(
        _body(request, "internal_error", "Something went wrong on our side.", "Quote the correlation id to support."),
        status_code=500,
    )


async def correlation_middleware(request: Request, call_next):
    request.state.correlation_id = request.headers.get(CORRELATION_HEADER) or uuid.uuid4().hex
    # Every line logged for this request names it, the server's access line included (written once the response
    # is sent, after this returns): the request's task has a context of its own, so it is not reset here.
    current_correlation_id.set(request.state.correlation_id)
    started = time.monotonic()
    response = await call_next(request)
    response.headers[CORRELATION_HEADER] = request.state.correlation_id
    log_event(
        log,
        logging.INFO,
        "request",
        method=request.method,
        path=request.url.path,
        status=response.status_code,
        ms=round((time.monotonic() - started) * 1000, 1),
        correlation_id=request.state.correlation_id,
    )
    return response
