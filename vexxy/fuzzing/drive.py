"""Drive a running workload (any sandbox backend): observe it idle first, then let a scanner loose on its HTTP ports."""

from __future__ import annotations

import time
from collections.abc import Callable

from vexxy.fuzzing.findings import FuzzReport
from vexxy.fuzzing.targets import http_ports
from vexxy.sandbox.workload import Workload

Scan = Callable[[Workload, int, float], FuzzReport]


def drive(
    workload: Workload, scan: Scan, idle_seconds: float, budget_seconds: float, log: Callable[[str], None] = lambda m: None
) -> FuzzReport:
    if not workload.ports:
        return FuzzReport.skipped("no HTTP port (the image exposes no TCP port)")
    time.sleep(idle_seconds)
    ports = http_ports(workload.address, workload.ports)
    if not ports:
        return FuzzReport.skipped(f"no HTTP port (TCP {', '.join(map(str, workload.ports))} did not answer HTTP)")
    workload.mark_fuzzing_started()
    reports = []
    share = budget_seconds / len(ports)
    for port in ports:
        log(f"Scanning HTTP port {port} for up to {share:.0f} s")
        reports.append(scan(workload, port, share))
    return merge(reports)


def merge(reports: list[FuzzReport]) -> FuzzReport:
    if len(reports) == 1:
        return reports[0]
    statuses = {r.status for r in reports}
    status = "completed" if statuses == {"completed"} else "failed" if statuses == {"failed"} else "partial"
    return FuzzReport(
        status=status,
        reason="; ".join(r.reason for r in reports if r.reason),
        tool=reports[0].tool,
        tool_version=reports[0].tool_version,
        targets=[t for r in reports for t in r.targets],
        findings=[f for r in reports for f in r.findings],
        out_of_scope_dropped=sum(r.out_of_scope_dropped for r in reports),
        seconds=sum(r.seconds for r in reports),
    )
