"""An analysis's statements at a glance, and the gate a pipeline puts on them (`vexxy analyze --fail-on`).

The rows are the stored statements (`vex.statements.json`) joined with the severity their matches'
advisories state (`vulnerabilities.json`). `--fail-on` names either a status (a statement with that
status exists) or a severity level (an `affected` or `under_investigation` statement of at least that
severity exists: a vulnerability shown not to be reachable, or fixed, does not fail the gate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from packageurl import PackageURL

from vexxy.vex.severity import LEVELS, Severity, rank, severity_of
from vexxy.vex.statements import Status

STATUSES = tuple(s.value for s in Status)
FAIL_ON_CHOICES = STATUSES + LEVELS
OPEN_STATUSES = (Status.AFFECTED.value, Status.UNDER_INVESTIGATION.value)  # what a severity gate counts
FAIL_ON_EXIT_CODE = 3  # 1: the analysis failed; 2: an input or setting in error; 130: interrupted


@dataclass(frozen=True)
class Row:
    vulnerability: str
    package: str  # name@version
    purl: str
    status: str
    justification: str  # "" when the status has none
    confidence: str
    severity: Severity | None


def package_of(purl: str) -> str:
    """`name@version` (with the namespace, if any) of a package URL; the text itself when it is not one."""
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return purl
    name = f"{parsed.namespace}/{parsed.name}" if parsed.namespace else parsed.name
    return f"{name}@{parsed.version}" if parsed.version else name


def severities(matches: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Severity]:
    """{(vulnerability, purl): the highest severity its matches' advisories state}."""
    found: dict[tuple[str, str], Severity] = {}
    for match in matches:
        severity = severity_of(match.get("severity") or ())
        key = (match["vulnerability"], match["purl"])
        if severity is not None and (key not in found or rank(severity.level) > rank(found[key].level)):
            found[key] = severity
    return found


_ORDER = {status: place for place, status in enumerate(("affected", "under_investigation", "fixed", "not_affected"))}


def rows(statements: Iterable[Mapping[str, Any]], matches: Iterable[Mapping[str, Any]] = ()) -> list[Row]:
    """One row per statement: affected first, then under investigation, fixed, not affected; the most
    severe first within a status."""
    by_key = severities(matches)
    table = [
        Row(
            vulnerability=s["vulnerability"],
            package=package_of(s["component_purl"]),
            purl=s["component_purl"],
            status=s["status"],
            justification=s.get("justification") or "",
            confidence=s.get("confidence") or "",
            severity=by_key.get((s["vulnerability"], s["component_purl"])),
        )
        for s in statements
    ]

    def order(row: Row) -> tuple:
        severity = rank(row.severity.level) if row.severity else 0
        return (_ORDER.get(row.status, len(_ORDER)), -severity, row.vulnerability, row.package)

    return sorted(table, key=order)


def failing(table: Iterable[Row], fail_on: str) -> list[Row]:
    """The rows that make `--fail-on fail_on` fail: the status named, or an open status at least that severe."""
    if fail_on in STATUSES:
        return [r for r in table if r.status == fail_on]
    if fail_on in LEVELS:
        return [r for r in table if r.status in OPEN_STATUSES and r.severity and rank(r.severity.level) >= rank(fail_on)]
    raise ValueError(f"--fail-on {fail_on!r} is not one of {', '.join(FAIL_ON_CHOICES)}")
