"""Fuzz findings as SARIF 2.1.0, the format security dashboards ingest, validated against OASIS's schema."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema

from vexxy.fuzzing.findings import Finding, FuzzReport

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"high": "error", "medium": "warning", "low": "note", "info": "note"}
_SECURITY_SEVERITY = {"high": "8.0", "medium": "5.0", "low": "3.0", "info": "0.0"}


def _rule(finding: Finding) -> dict[str, Any]:
    tags = (
        ["security"]
        + ([f"external/cwe/cwe-{finding.cwe}"] if finding.cwe else [])
        + ([f"WASC-{finding.wasc}"] if finding.wasc else [])
    )
    rule: dict[str, Any] = {
        "id": finding.rule_id,
        "name": finding.name.replace(" ", ""),
        "shortDescription": {"text": finding.name},
        "properties": {"tags": tags, "security-severity": _SECURITY_SEVERITY[finding.risk]},
    }
    if finding.description:
        rule["fullDescription"] = {"text": finding.description[:2000]}
    if finding.solution:
        rule["help"] = {"text": finding.solution[:2000]}
    return rule


def to_sarif(report: FuzzReport) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for finding in report.findings:
        rules.setdefault(finding.rule_id, _rule(finding))
        message = f"{finding.name} at {finding.method} {finding.url}" + (
            f" (parameter {finding.parameter})" if finding.parameter else ""
        )
        results.append(
            {
                "ruleId": finding.rule_id,
                "level": _LEVEL[finding.risk],
                "message": {"text": message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": finding.url}}}],
                "webRequest": {"protocol": "http", "method": finding.method, "target": finding.url},
                "properties": {
                    "risk": finding.risk,
                    "confidence": finding.confidence,
                    "parameter": finding.parameter,
                    "attack": finding.attack[:1000],
                    "evidence": finding.evidence[:1000],
                    **({"cwe": f"CWE-{finding.cwe}"} if finding.cwe else {}),
                    **({"wasc": f"WASC-{finding.wasc}"} if finding.wasc else {}),
                },
            }
        )
    run: dict[str, Any] = {
        "tool": {
            "driver": {"name": report.tool or "none", "version": report.tool_version or "unknown", "rules": list(rules.values())}
        },
        "results": results,
        "invocations": [
            {
                "executionSuccessful": report.status in ("completed", "partial", "skipped"),
                "properties": {"status": report.status, "reason": report.reason, "targets": report.targets},
            }
        ],
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft4Validator:
    schema = json.loads((resources.files("vexxy.fuzzing") / "schemas" / "sarif-schema-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def sarif_errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(document)'}: {error.message}"
        for error in _validator().iter_errors(document)
    ]
