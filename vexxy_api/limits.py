"""Input bounds enforced before any route, parser or authentication sees a request.

A body larger than its endpoint's limit is refused from its `Content-Length` without reading a
byte, and a body without one is read at most up to the limit before the request is refused, so
memory stays flat whatever a client sends. NUL characters (which PostgreSQL refuses in text) are
refused in the path, the query and the headers, and the correlation id is bounded to what the
database and the run tags keep.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import unquote_to_bytes

from vexxy_api.errors import CORRELATION_HEADER, ApiError

KIB = 1024
MAX_JSON_BODY = 64 * KIB
BODY_LIMITS = {"/webhooks/stripe": 1024 * KIB}  # Stripe events (large invoices) may exceed 64 KiB
CORRELATION_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
MAX_URL_BYTES = 4 * KIB
MAX_PAGE = 10_000  # page numbers beyond this are refused, not turned into huge offsets
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"  # a pattern for free-text fields: no NUL or other control characters


class BodyTooLarge(ApiError):
    def __init__(self, limit: int):
        super().__init__(
            413,
            "body_too_large",
            f"The request body exceeds {limit // KIB} KiB.",
            "Send a smaller body; requests to this API are small JSON documents.",
        )


def body_limit(path: str) -> int:
    return BODY_LIMITS.get(path.rstrip("/"), MAX_JSON_BODY)


def refusal(scope: dict) -> ApiError | None:
    """Why the request line or headers are refused, or None."""
    path, query = scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b"")
    if len(path) + len(query) > MAX_URL_BYTES:
        return ApiError(414, "url_too_long", f"The URL exceeds {MAX_URL_BYTES} bytes.")
    if b"\x00" in unquote_to_bytes(path) or b"\x00" in unquote_to_bytes(query) or "\x00" in scope["path"]:
        return ApiError(400, "nul_in_url", "The URL contains a NUL character.")
    for name, value in scope.get("headers", []):
        if b"\x00" in value:
            return ApiError(400, "nul_in_header", f"Header {name.decode('latin-1')} contains a NUL character.")
        if name.lower() == CORRELATION_HEADER.lower().encode() and not CORRELATION_ID_RE.match(value.decode("latin-1")):
            return ApiError(
                400,
                "bad_correlation_id",
                f"{CORRELATION_HEADER} must be 1 to 64 letters, digits or . _ : -.",
                "Send a shorter id (a UUID fits), or none and use the one in the response.",
            )
        if name.lower() == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                return ApiError(400, "bad_content_length", "Content-Length is not a number.")
            if declared > body_limit(scope["path"]):
                return BodyTooLarge(body_limit(scope["path"]))
    return None


class InputLimits:
    """Pure ASGI middleware, outermost: nothing has parsed, authenticated or buffered the request yet."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refused = refusal(scope)
        if refused is not None:
            return await _send_error(send, refused)
        limit, chunks, received = body_limit(scope["path"]), [], 0
        more = True
        while more:  # at most `limit` bytes are ever held; the rest of an oversized body is never read
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > limit:
                return await _send_error(send, BodyTooLarge(limit))
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


async def _send_error(send, error: ApiError) -> None:
    correlation = uuid.uuid4().hex
    body = {
        "error": {
            "code": error.code,
            "message": error.message,
            **({"hint": error.hint} if error.hint else {}),
            "correlation_id": correlation,
        }
    }
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (CORRELATION_HEADER.lower().encode(), correlation.encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
