"""A route the application declares (in an OpenAPI document or in its code), and one exercised request.

Routes are always relative to the workload's own base URL: a route is a method and an absolute
path on the workload, never a URL, so nothing declared can send a request to another host.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PARAMETER = re.compile(r"\{([^{}/]{1,64})\}")
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%{}/-]*$")
MAX_PATH_CHARS = 512


def safe_path(path: str) -> bool:
    """An absolute path on this host: no scheme or authority (`//host`), no `..`, no backslash or control character."""
    return (
        isinstance(path, str)
        and len(path) <= MAX_PATH_CHARS
        and bool(_SAFE_PATH.match(path))
        and not path.startswith("//")
        and ".." not in path.split("/")
    )


@dataclass(frozen=True)
class Route:
    method: str  # upper case
    path: str  # absolute path template on the workload, `{name}` for parameters
    source: str  # openapi | code
    where: str = ""  # the document's path, or file:line
    parameters: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # path parameter -> value
    query: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # required query parameters
    body: Any = field(default=None, hash=False, compare=False)  # JSON body for POST/PUT/PATCH
    form: bool = field(default=False, hash=False, compare=False)  # send `body` form-encoded

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def target(self) -> str:
        """The concrete path (with query) to request: parameters filled from examples, else with `1`."""
        path = _PARAMETER.sub(lambda m: quote(str(self.parameters.get(m.group(1), "1")), safe=""), self.path)
        return path + (f"?{urlencode(self.query)}" if self.query else "")

    def payload(self) -> tuple[bytes, str] | None:
        """The request body and its content type, for methods that carry one."""
        if self.method not in BODY_METHODS:
            return None
        body = {} if self.body is None else self.body
        if self.form and isinstance(body, dict):
            return urlencode({k: v if isinstance(v, str) else json.dumps(v, default=str) for k, v in body.items()}).encode(), (
                "application/x-www-form-urlencoded"
            )
        return json.dumps(body, default=str).encode(), "application/json"  # YAML dates and the like as text


def merge_routes(*groups: list[Route]) -> list[Route]:
    """One route per method and path; the first declaration (OpenAPI before code) keeps its examples."""
    seen: dict[str, Route] = {}
    for group in groups:
        for route in group:
            seen.setdefault(route.key, route)
    return list(seen.values())
