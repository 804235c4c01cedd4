"""One error hierarchy, one JSON shape: `{"error": {"code", "message", "hint", "correlation_id"}}`.

Validation 400/422, unauthenticated 401, forbidden 403, not found 404, invalid state 409,
payment required 402, quota 429, upstream 502/503/504 (503 also when the application database does
not answer). The correlation id is also in the logs
and in the Dagster run's tags.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

import sqlalchemy.exc
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("vexxy.api")
CORRELATION_HEADER = "X-Correlation-ID"


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
            hint,
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


def _body(request: Request, code: str, message: str, hint: str | None, extra: dict | None = None) -> dict:
    error = {
        "code": code,
        "message": message,
        **({"hint": hint} if hint else {}),
        **(extra or {}),
        "correlation_id": correlation_id(request),
    }
    return {"error": error}


async def render_api_error(request: Request, exc: ApiError) -> JSONResponse:
    log.info(
        json.dumps({"event": "api_error", "code": exc.code, "status": exc.status, "correlation_id": correlation_id(request)})
    )
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
        "See /api/v1/docs for the endpoints." if code != "http_error" else None,
    )
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def render_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
    return JSONResponse(_body(request, "validation_error", f"The request is invalid: {details}", None), status_code=422)


DATABASE_DOWN = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.TimeoutError)
DATABASE_RETRY_SECONDS = 5


async def render_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The application database did not answer (down, unreachable, pool exhausted): 503, try again shortly."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0:1]
    log.error(
        json.dumps(
            {"event": "database_unavailable", "error": reason[0] if reason else "", "correlation_id": correlation_id(request)}
        )
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
    log.error(json.dumps({"event": "unhandled_error", "error": repr(exc), "correlation_id": correlation_id(request)}))
    return JSONResponse(
        _body(request, "internal_error", "Something went wrong on our side.", "Quote the correlation id to support."),
        status_code=500,
    )


async def correlation_middleware(request: Request, call_next):
    request.state.correlation_id = request.headers.get(CORRELATION_HEADER) or uuid.uuid4().hex
    started = time.monotonic()
    response = await call_next(request)
    response.headers[CORRELATION_HEADER] = request.state.correlation_id
    log.info(
        json.dumps(
            {
                "event": "request",
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "ms": round((time.monotonic() - started) * 1000, 1),
                "correlation_id": request.state.correlation_id,
            }
        )
    )
    return response
