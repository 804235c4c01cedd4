"""Request every declared route once, with its method and a body, and report route coverage.

A crawler only reaches what pages link to; an API endpoint nothing links to runs only when it is
called. Each route gets one request on the workload's base URL (no redirects, responses read up to
a bound) within the time left; a route counts as exercised when the application answered it with a
status other than "no such route" (404, 405, 501).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from vexxy.fuzzing.routes import Route

NOT_A_ROUTE = frozenset({404, 405, 501})
MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class RouteResult:
    route: Route
    status: int | None  # None: no answer
    error: str = ""

    @property
    def exercised(self) -> bool:
        return self.status is not None and self.status not in NOT_A_ROUTE

    @property
    def outcome(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else self.error or "not requested"


def exercise(base_url: str, routes: list[Route], *, timeout: float = 5.0, budget_seconds: float = 20.0) -> list[RouteResult]:
    results = []
    deadline = time.monotonic() + budget_seconds
    base = base_url.rstrip("/")
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for route in routes:
            if time.monotonic() >= deadline:
                results.append(RouteResult(route, None, f"not requested, the {budget_seconds:.0f} s budget was spent"))
                continue
            payload = route.payload()
            headers = {"Content-Type": payload[1]} if payload else {}
            try:
                with client.stream(
                    route.method, base + route.target(), content=payload[0] if payload else None, headers=headers
                ) as response:
                    read = 0
                    for chunk in response.iter_bytes():  # the status is what counts; the body is read only so far
                        read += len(chunk)
                        if read > MAX_RESPONSE_BYTES or time.monotonic() > deadline:
                            break
                    results.append(RouteResult(route, response.status_code))
            except httpx.HTTPError as error:
                results.append(RouteResult(route, None, error.__class__.__name__))
    return results


@dataclass
class RouteCoverage:
    """Routes declared (by source), those exercised, and those not reached with why."""

    declared: dict[str, list[str]] = field(default_factory=dict)  # source -> route keys
    results: list[RouteResult] = field(default_factory=list)
    document: str = ""  # where the OpenAPI document was found
    probes: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # declared but pointing elsewhere / unsafe
    notes: list[str] = field(default_factory=list)

    @classmethod
    def combine(cls, coverages: list[RouteCoverage]) -> RouteCoverage:
        """The coverage of several ports as one."""
        declared: dict[str, list[str]] = {}
        for coverage in coverages:
            for source, keys in coverage.declared.items():
                declared.setdefault(source, []).extend(k for k in keys if k not in declared[source])
        return cls(
            declared=declared,
            results=[r for c in coverages for r in c.results],
            document=", ".join(c.document for c in coverages if c.document),
            probes=[p for c in coverages for p in c.probes],
            dropped=[d for c in coverages for d in c.dropped],
            notes=sorted({n for c in coverages for n in c.notes}),
        )

    @property
    def declared_total(self) -> int:
        return len({key for keys in self.declared.values() for key in keys})

    @property
    def exercised(self) -> list[str]:
        return [r.route.key for r in self.results if r.exercised]

    @property
    def not_reached(self) -> list[str]:
        return [f"{r.route.key} ({r.outcome})" for r in self.results if not r.exercised]

    def to_dict(self) -> dict[str, Any]:
        return {
            "declared": {source: len(keys) for source, keys in sorted(self.declared.items())},
            "declared_total": self.declared_total,
            "exercised": len(self.exercised),
            "not_reached": self.not_reached,
            "routes": [
                {
                    "method": r.route.method,
                    "path": r.route.path,
                    "sources": sorted(s for s, keys in self.declared.items() if r.route.key in keys),
                    "where": r.route.where,
                    "outcome": r.outcome,
                    "exercised": r.exercised,
                }
                for r in self.results
            ],
            "openapi_document": self.document,
            "probes": self.probes,
            "dropped": self.dropped,
            "notes": self.notes,
        }
