"""One error shape for every API failure: `{"error": {"code", "message", "hint"}}`."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, hint: str | None = None, headers: dict[str, str] | None = None):
        self.status, self.code, self.message, self.hint, self.headers = status, code, message, hint, headers or {}
        super().__init__(message)


async def render_api_error(request: Request, exc: ApiError) -> JSONResponse:
    body = {"error": {"code": exc.code, "message": exc.message, **({"hint": exc.hint} if exc.hint else {})}}
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)
