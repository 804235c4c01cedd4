"""What a scanner is given besides the base URL: the routes the application declares, as one API description.

Whatever declared them (the workload's OpenAPI document, its code, configured seeds), scanners get
one OpenAPI 3 document built from the routes already scoped to the workload, served by the base
URL the scanner reaches, so a scanner never reads a server or `$ref` the image chose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from vexxy.declared_route import DeclaredRoute
from vexxy.fuzzing.openapi import ApiDescription
from vexxy.fuzzing.routes import BODY_METHODS, METHODS, Route, merge_routes, safe_path

MAX_RAW_REQUEST_BYTES = 8 * 1024  # a request replayed through a scanner's API travels in a URL


@dataclass
class ScanSeeds:
    """The declared routes of one port, and the OpenAPI document some came from, if any."""

    routes: list[Route] = field(default_factory=list)
    description: ApiDescription | None = None

    def openapi_document(self, base_url: str) -> dict[str, Any]:
        return routes_document(self.routes, base_url)

    def raw_requests(self, base_url: str, max_bytes: int = MAX_RAW_REQUEST_BYTES) -> tuple[list[str], int]:
        """Each route as a whole HTTP/1.1 request to `base_url` (for scanners that replay requests), and how many
        were left out for being larger than `max_bytes`."""
        base, host = base_url.rstrip("/"), urlsplit(base_url).netloc
        requests, skipped = [], 0
        for route in self.routes:
            lines = [f"{route.method} {base}{route.target()} HTTP/1.1", f"Host: {host}"]
            payload = route.payload()
            body = payload[0].decode() if payload else ""
            if payload:
                lines += [f"Content-Type: {payload[1]}", f"Content-Length: {len(payload[0])}"]
            raw = "\r\n".join(lines) + "\r\n\r\n" + body
            if len(raw) > max_bytes:
                skipped += 1
            else:
                requests.append(raw)
        return requests, skipped


def seed_routes(seeds: list[str], base_url: str) -> tuple[list[Route], list[str]]:
    """Configured seeds (paths, or URLs on the workload itself) as GET routes; others dropped with why."""
    routes, dropped = [], []
    origin = urlsplit(base_url)
    for seed in seeds:
        parts = urlsplit(seed)
        if parts.scheme or parts.netloc:
            if (parts.scheme, parts.hostname, parts.port or 80) != (origin.scheme, origin.hostname, origin.port or 80):
                dropped.append(f"seed {seed[:200]}: another host than the workload")
                continue
        path = parts.path or "/"
        if not safe_path(path):
            dropped.append(f"seed {seed[:200]}: not a plain absolute path")
            continue
        routes.append(Route("GET", path, "seed", "configuration", query=dict(parse_qsl(parts.query))))
    return routes, dropped


def routes_in_code(declared: list[DeclaredRoute]) -> tuple[list[Route], list[str]]:
    """Routes first-party code declares, kept only when their path is a plain absolute path."""
    routes, dropped = [], []
    for route in declared:
        if safe_path(route.path) and route.method.lower() in METHODS:
            routes.append(Route(route.method, route.path, "code", route.where))
        else:
            dropped.append(f"{route.method[:10]} {route.path[:200]} at {route.where}: not a plain absolute path")
    return routes, dropped


def _schema_of(value: Any, depth: int = 0) -> dict[str, Any]:
    if depth > 8:
        return {}
    if isinstance(value, bool):
        return {"type": "boolean", "default": value}
    if isinstance(value, int):
        return {"type": "integer", "default": value}
    if isinstance(value, float):
        return {"type": "number", "default": value}
    if isinstance(value, str):
        return {"type": "string", "default": value}
    if isinstance(value, list):
        return {"type": "array", "items": _schema_of(value[0], depth + 1) if value else {"type": "string"}}
    if isinstance(value, dict):
        return {
            "type": "object",
            "properties": {str(k): _schema_of(v, depth + 1) for k, v in value.items()},
            "required": [str(k) for k in value],
        }
    return {"type": "string"}


def routes_document(routes: list[Route], base_url: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in merge_routes(routes):
        operation: dict[str, Any] = {"responses": {"default": {"description": "any"}}}
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "default": value}}
            for name, value in route.parameters.items()
        ] + [
            {"name": name, "in": "query", "required": True, "schema": {"type": "string", "default": value}}
            for name, value in route.query.items()
        ]
        if parameters:
            operation["parameters"] = parameters
        if route.method in BODY_METHODS:
            body = {} if route.body is None else route.body
            media = "application/x-www-form-urlencoded" if route.form else "application/json"
            operation["requestBody"] = {"required": True, "content": {media: {"schema": _schema_of(body), "example": body}}}
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "Routes the workload declares", "version": "1"},
        "servers": [{"url": base_url.rstrip("/")}],
        "paths": paths,
    }
