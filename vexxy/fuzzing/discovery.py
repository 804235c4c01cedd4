"""Find the OpenAPI/Swagger document a workload serves, at a configured path or a conventional one.

Requests go only to the workload's base URL, follow no redirect, read at most the document size
limit and stop probing once the time budget is spent. Every probe's outcome is kept for the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from vexxy.fuzzing.openapi import MAX_DOCUMENT_BYTES, ApiDescription, NotAnApiDocument, describe, load_document
from vexxy.fuzzing.routes import safe_path

CONVENTIONAL_PATHS = (
    "/openapi.json",
    "/swagger.json",
    "/v3/api-docs",
    "/v2/api-docs",
    "/api-docs",
    "/openapi.yaml",
    "/openapi.yml",
    "/swagger.yaml",
    "/api/openapi.json",
    "/docs/openapi.json",
    "/swagger/v1/swagger.json",
)


@dataclass
class Discovery:
    description: ApiDescription | None = None
    probes: list[str] = field(default_factory=list)  # "path: outcome", in order


def fetch_bounded(client: httpx.Client, url: str, limit: int, deadline: float) -> tuple[int, bytes]:
    """Status and at most `limit` bytes of the body, read before `deadline` (monotonic); ValueError otherwise."""
    with client.stream("GET", url) as response:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ValueError(f"larger than {limit} bytes")
        data = bytearray()
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) > limit:
                raise ValueError(f"larger than {limit} bytes")
            if time.monotonic() > deadline:
                raise ValueError("still sending when the discovery budget was spent")
        return response.status_code, bytes(data)


def discover(
    base_url: str,
    openapi_path: str | None = None,
    *,
    timeout: float = 3.0,
    budget_seconds: float = 10.0,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> Discovery:
    """The first document found (the configured path alone when one is given) as routes on `base_url`."""
    found = Discovery()
    if openapi_path is not None and not safe_path(openapi_path):
        found.probes.append(f"{openapi_path[:200]}: refused, not a plain absolute path on the workload")
        return found
    paths = [openapi_path] if openapi_path else list(CONVENTIONAL_PATHS)
    deadline = time.monotonic() + budget_seconds
    base = base_url.rstrip("/")
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for path in paths:
            if time.monotonic() >= deadline:
                found.probes.append(f"{path}: not probed, the {budget_seconds:.0f} s discovery budget was spent")
                continue
            try:
                status, raw = fetch_bounded(client, base + path, max_bytes, deadline)
                if status != 200:
                    found.probes.append(f"{path}: HTTP {status}")
                    continue
                document = load_document(raw, deadline)
            except (httpx.HTTPError, ValueError) as error:
                reason = str(error) if isinstance(error, (NotAnApiDocument, ValueError)) else error.__class__.__name__
                found.probes.append(f"{path}: {reason[:200]}")
                continue
            try:
                description = describe(document, base + path, base_url)
            except (TypeError, AttributeError, KeyError, ValueError, OverflowError, RecursionError) as error:
                # A field of the wrong type (servers an object, a schema's format a list, a minimum of Infinity):
                # the document is the image's word, and a bad one must not stop the scan of the workload.
                found.probes.append(f"{path}: not a usable OpenAPI document ({error.__class__.__name__}: {str(error)[:120]})")
                continue
            found.probes.append(f"{path}: {len(description.routes)} operations")
            found.description = description
            return found
    return found
