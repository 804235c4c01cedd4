"""One findings schema for every scanner (ZAP, Wapiti), and the report of one scan."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from vexxy.fuzzing.exercise import RouteCoverage

RISKS = ("high", "medium", "low", "info")


@dataclass(frozen=True)
class Finding:
    rule_id: str
    name: str
    risk: str  # high | medium | low | info
    confidence: str  # confirmed | high | medium | low | unknown
    method: str
    url: str
    parameter: str
    attack: str
    evidence: str
    tool: str
    tool_version: str
    cwe: int | None = None
    wasc: int | None = None
    description: str = ""
    solution: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FuzzReport:
    status: str  # completed | partial | skipped | failed
    reason: str = ""
    tool: str = ""
    tool_version: str = ""
    targets: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    out_of_scope_dropped: int = 0
    seconds: float = 0.0
    route_coverage: RouteCoverage | None = None  # declared routes and which were exercised

    def by_risk(self) -> dict[str, int]:
        counts = Counter(f.risk for f in self.findings)
        return {risk: counts.get(risk, 0) for risk in RISKS}

    def headline(self) -> str:
        """The status, then why (`skipped: no HTTP port`), the status said once even if the reason repeats it."""
        reason = self.reason.strip()
        while reason.lower().startswith(f"{self.status}:"):
            reason = reason[len(self.status) + 1 :].strip()
        return f"{self.status}: {reason}" if reason else self.status

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "tool": self.tool,
            "tool_version": self.tool_version,
            "targets": self.targets,
            "out_of_scope_dropped": self.out_of_scope_dropped,
            "seconds": self.seconds,
            "by_risk": self.by_risk(),
            "findings": [f.to_dict() for f in self.findings],
            **({"route_coverage": self.route_coverage.to_dict()} if self.route_coverage else {}),
        }

    @classmethod
    def skipped(cls, reason: str, tool: str = "") -> FuzzReport:
        return cls(status="skipped", reason=reason, tool=tool)


def normalize_risk(value: Any) -> str:
    text = str(value).strip().lower()
    if text in ("4", "3", "critical", "high"):
        return "high"
    if text in ("2", "medium"):
        return "medium"
    if text in ("1", "low"):
        return "low"
    return "info"


def parse_cwe(value: Any) -> int | None:
    match = re.search(r"(\d+)", str(value or ""))
    number = int(match.group(1)) if match else None
    return number if number and number > 0 else None


def keep_in_scope(findings: list[Finding], allowed_hosts: set[str]) -> tuple[list[Finding], int]:
    """Only findings about the sandbox itself: anything naming another host is dropped and counted."""
    kept = [f for f in findings if (urlparse(f.url).hostname or "") in allowed_hosts]
    return kept, len(findings) - len(kept)
