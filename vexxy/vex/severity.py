"""A vulnerability's severity from what its advisories say: CVSS v3 base scores computed from their vectors.

OSV records carry severity as `{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/..."}` (a vector, not a
number); a few name a level outright (`{"type": "Ubuntu", "score": "medium"}`). The base score is
computed with the formula of the CVSS v3.1 specification (section 7); other kinds (CVSS v2, v4) are
not scored, so a vulnerability only they describe has no severity here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

LEVELS = ("low", "medium", "high", "critical")  # in increasing order; "none" is below them all

_AV = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_AC = {"L": 0.77, "H": 0.44}
_PR_UNCHANGED = {"N": 0.85, "L": 0.62, "H": 0.27}
_PR_CHANGED = {"N": 0.85, "L": 0.68, "H": 0.5}
_UI = {"N": 0.85, "R": 0.62}
_CIA = {"H": 0.56, "L": 0.22, "N": 0.0}


@dataclass(frozen=True)
class Severity:
    level: str  # none | low | medium | high | critical
    score: float | None  # the CVSS base score it comes from, when there is one

    def __str__(self) -> str:
        return f"{self.level} ({self.score:.1f})" if self.score is not None else self.level


def _roundup(value: float) -> float:
    """CVSS v3.1's Roundup: the smallest number with one decimal that is at least `value`, free of float error."""
    scaled = round(value * 100000)
    return scaled / 100000.0 if scaled % 10000 == 0 else (math.floor(scaled / 10000) + 1) / 10.0


def cvss3_base_score(vector: str) -> float | None:
    """The base score of a `CVSS:3.x/...` vector; None when it is not one or lacks a base metric."""
    parts = vector.strip().split("/")
    if not parts or parts[0] not in ("CVSS:3.0", "CVSS:3.1"):
        return None
    metrics = dict(part.split(":", 1) for part in parts[1:] if ":" in part)
    try:
        changed = {"U": False, "C": True}[metrics["S"]]
        privileges = (_PR_CHANGED if changed else _PR_UNCHANGED)[metrics["PR"]]
        exploitability = 8.22 * _AV[metrics["AV"]] * _AC[metrics["AC"]] * privileges * _UI[metrics["UI"]]
        c, i, a = (_CIA[metrics[name]] for name in ("C", "I", "A"))
    except KeyError:
        return None
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
    if impact <= 0:
        return 0.0
    return _roundup(min((1.08 if changed else 1.0) * (impact + exploitability), 10.0))


def level_of(score: float) -> str:
    """The qualitative rating of a CVSS v3 score."""
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
        if str(entry.get("type") or "").upper() == "CVSS_V3":
            score = cvss3_base_score(score_text)
            if score is not None:
                found.append(Severity(level_of(score), score))
        elif score_text.lower() in LEVELS:
            found.append(Severity(score_text.lower(), None))
    return max(found, key=lambda s: (rank(s.level), s.score or 0.0), default=None)
