"""A vulnerability's severity from what its advisories say: CVSS base scores computed from their vectors.

OSV records carry severity as `{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/..."}` (a vector, not a
number); a few name a level outright (`{"type": "Ubuntu", "score": "medium"}`). CVSS v3 and v4
vectors are scored by the `cvss` library; CVSS v2 is not scored (its ratings stop at high), so a
vulnerability only v2 describes has no severity here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cvss import CVSS3, CVSS4, CVSSError

LEVELS = ("low", "medium", "high", "critical")  # in increasing order; "none" is below them all
SCORED = {"CVSS_V3": CVSS3, "CVSS_V4": CVSS4}


@dataclass(frozen=True)
class Severity:
    level: str  # none | low | medium | high | critical
    score: float | None  # the CVSS base score it comes from, when there is one

    def __str__(self) -> str:
        return f"{self.level} ({self.score:.1f})" if self.score is not None else self.level


def base_score(kind: str, vector: str) -> float | None:
    """The base score of a CVSS v3 or v4 vector (by the OSV severity `type`); None when it is not a valid one."""
    scorer = SCORED.get(kind.upper())
    if scorer is None:
        return None
    try:
        return float(scorer(vector.strip()).base_score)
    except (CVSSError, ValueError, KeyError):
        return None


def level_of(score: float) -> str:
    """The qualitative rating of a CVSS v3 or v4 score (both specifications use the same bands)."""
    if score == 0:
        return "none"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


def rank(level: str) -> int:
    """A level's place in order: none and unknown below low."""
    return LEVELS.index(level) + 1 if level in LEVELS else 0


def severity_of(entries: Iterable[Mapping[str, str]]) -> Severity | None:
    """The highest severity the advisories' entries state; None when none can be read."""
    found: list[Severity] = []
    for entry in entries:
        score_text = str(entry.get("score") or "")
        score = base_score(str(entry.get("type") or ""), score_text)
        if score is not None:
            found.append(Severity(level_of(score), score))
        elif score_text.lower() in LEVELS:
            found.append(Severity(score_text.lower(), None))
    return max(found, key=lambda s: (rank(s.level), s.score or 0.0), default=None)
