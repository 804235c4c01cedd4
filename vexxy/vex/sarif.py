"""The statements a team still has to act on, as SARIF 2.1.0: what code-scanning dashboards ingest.

Only `affected` (level `error`) and `under_investigation` (level `warning`) statements become results:
a vulnerability shown not to be reachable, or fixed, is no finding. One rule per vulnerability, its
`security-severity` the CVSS base score when the advisories give one; each result is located at the
component's package URL and carries the statement's status, justification and confidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vexxy.vex.summary import OPEN_STATUSES, Row

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"  # as the fuzz findings' SARIF names it

_LEVEL = {"affected": "error", "under_investigation": "warning"}


def _rule(row: Row, description: str) -> dict[str, Any]:
    properties: dict[str, Any] = {"tags": ["security", "vulnerability"]}
    if row.severity is not None:
        properties["severity"] = row.severity.level
        if row.severity.score is not None:
            properties["security-severity"] = f"{row.severity.score:.1f}"
    rule: dict[str, Any] = {"id": row.vulnerability, "shortDescription": {"text": description or row.vulnerability}}
    rule["properties"] = properties
    return rule


def to_sarif(
    rows: Iterable[Row],
    statements: Iterable[Mapping[str, Any]],
    *,
    image: str,
    tool_version: str,
) -> dict[str, Any]:
    """SARIF for the open statements among `rows`; `statements` (the stored ones) give each its notes."""
    notes = {(s["vulnerability"], s["component_purl"]): s for s in statements}
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for row in rows:
        if row.status not in OPEN_STATUSES:
            continue
        statement = notes.get((row.vulnerability, row.purl), {})
        rules.setdefault(row.vulnerability, _rule(row, str(statement.get("description") or "")))
        text = f"{row.vulnerability} in {row.package}: {row.status}"
        if statement.get("status_notes"):
            text += f". {statement['status_notes']}"
        results.append(
            {
                "ruleId": row.vulnerability,
                "level": _LEVEL[row.status],
                "message": {"text": text},
                "locations": [
                    {
                        "logicalLocations": [{"fullyQualifiedName": row.purl, "kind": "package"}],
                        "physicalLocation": {"artifactLocation": {"uri": row.purl}},
                    }
                ],
                "properties": {
                    "image": image,
                    "package": row.package,
                    "status": row.status,
                    "confidence": row.confidence,
                    **({"justification": row.justification} if row.justification else {}),
                    **({"severity": row.severity.level} if row.severity else {}),
                    **({"action": statement["action_statement"]} if statement.get("action_statement") else {}),
                },
            }
        )
    run = {
        "tool": {"driver": {"name": "vexxy", "version": tool_version, "rules": list(rules.values())}},
        "results": results,
        "properties": {"image": image},
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}
