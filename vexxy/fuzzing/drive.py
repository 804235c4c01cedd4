"""Drive a running workload (any sandbox backend): observe it idle first, then exercise what it declares and
let a scanner loose on its HTTP ports.

Per HTTP port, once the fuzzing phase started: find the OpenAPI document it serves (at the configured
path, else at conventional ones), request every declared route once with its method and a body
(OpenAPI operations, routes its code declares, configured seeds), then hand the same routes to the
scanner, which attacks them as well as what it crawls.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vexxy.declared_route import DeclaredRoute
from vexxy.fuzzing.discovery import discover
from vexxy.fuzzing.exercise import RouteCoverage, exercise
from vexxy.fuzzing.findings import FuzzReport
from vexxy.fuzzing.routes import Route, merge_routes
from vexxy.fuzzing.seeding import ScanSeeds, routes_in_code, seed_routes
from vexxy.fuzzing.targets import http_ports
from vexxy.sandbox.workload import Workload

Scan = Callable[[Workload, int, float, ScanSeeds | None], FuzzReport]
EXERCISE_SHARE = 0.25  # of a port's budget, at most, for discovery and exercising declared routes


def drive(
    workload: Workload,
    scan: Scan,
    idle_seconds: float,
    budget_seconds: float,
    log: Callable[[str], None] = lambda m: None,
    *,
    seeds: list[str] | None = None,
    openapi_path: str | None = None,
    code_routes: Callable[[], tuple[list[DeclaredRoute], list[str]]] | None = None,
) -> FuzzReport:
    """`seeds`: paths (or URLs on the workload) to request and scan; `openapi_path`: where the workload serves its
    OpenAPI document (default: conventional paths are probed); `code_routes`: the routes its first-party code
    declares, with notes on what could not be read (default: what the workload read from its image)."""
    if not workload.ports:
        return FuzzReport.skipped("no HTTP port (the image exposes no TCP port)")
    time.sleep(idle_seconds)
    ports = http_ports(workload.address, workload.ports)
    if not ports:
        return FuzzReport.skipped(f"no HTTP port (TCP {', '.join(map(str, workload.ports))} did not answer HTTP)")
    workload.mark_fuzzing_started()
    # After the mark: a backend may read the image's code from elsewhere for a while (never through the workload).
    found, notes = code_routes() if code_routes else workload.declared_routes(within=min(10.0, budget_seconds * EXERCISE_SHARE))
    declared, unsafe = routes_in_code(found)
    reports = []
    share = budget_seconds / len(ports)
    for port in ports:
        started = time.monotonic()
        base_url = f"http://{workload.address}:{port}/"
        try:
            coverage, scan_seeds = exercise_declared(base_url, declared, seeds or [], openapi_path, share * EXERCISE_SHARE)
        except Exception as error:  # what the image declares must never keep the scanner from the workload
            coverage, scan_seeds = RouteCoverage(notes=[f"declared routes not exercised: {error!r:.200}"]), None
        coverage.notes += notes
        coverage.dropped += unsafe
        log(
            f"Port {port}: {coverage.declared_total} declared routes, {len(coverage.exercised)} exercised"
            + (f" (OpenAPI document at {coverage.document})" if coverage.document else "")
        )
        remaining = max(5.0, share - (time.monotonic() - started))
        log(f"Scanning HTTP port {port} for up to {remaining:.0f} s")
        report = scan(workload, port, remaining, scan_seeds)
        report.route_coverage = coverage
        reports.append(report)
    return merge(reports)


def exercise_declared(
    base_url: str, code: list[Route], seeds: list[str], openapi_path: str | None, budget_seconds: float
) -> tuple[RouteCoverage, ScanSeeds]:
    """Discover the OpenAPI document, request every declared route once; the coverage and what to give the scanner."""
    deadline = time.monotonic() + budget_seconds
    found = discover(base_url, openapi_path, budget_seconds=budget_seconds / 2)
    documented = found.description.routes if found.description else []
    seeded, dropped = seed_routes(seeds, base_url)
    routes = merge_routes(documented, code, seeded)
    coverage = RouteCoverage(
        declared={
            source: [r.key for r in group]
            for source, group in (("openapi", documented), ("code", code), ("seed", seeded))
            if group
        },
        document=found.description.location if found.description else "",
        probes=found.probes,
        dropped=(found.description.dropped if found.description else []) + dropped,
    )
    coverage.results = exercise(base_url, routes, budget_seconds=max(1.0, deadline - time.monotonic()))
    return coverage, ScanSeeds(routes, found.description)


def merge(reports: list[FuzzReport]) -> FuzzReport:
    if len(reports) == 1:
        return reports[0]
    statuses = {r.status for r in reports}
    status = "completed" if statuses == {"completed"} else "failed" if statuses == {"failed"} else "partial"
    coverages = [r.route_coverage for r in reports if r.route_coverage]
    return FuzzReport(
        status=status,
        reason="; ".join(r.reason for r in reports if r.reason),
        tool=reports[0].tool,
        tool_version=reports[0].tool_version,
        targets=[t for r in reports for t in r.targets],
        findings=[f for r in reports for f in r.findings],
        out_of_scope_dropped=sum(r.out_of_scope_dropped for r in reports),
        seconds=sum(r.seconds for r in reports),
        route_coverage=RouteCoverage.combine(coverages) if coverages else None,
    )
