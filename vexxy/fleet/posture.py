"""The fleet's posture from every image's latest VEX statements: one table per image, one per vulnerability.

Per image: statements by status, noise reduction (the share of statements that are `not_affected`,
i.e. findings a scanner would report that the VEX takes off the table), whether the observation was
complete, when it was last analyzed. Per vulnerability: in how many images (and which) it is
`affected` because the component's code ran, present but not reached (`not_affected`), or still
`under_investigation` — the list a security team works from, most affected first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

STATUSES = ("affected", "not_affected", "under_investigation", "fixed")
# When one image has several statements for a vulnerability (several components), the image counts once,
# under the most urgent of them.
_URGENCY = {"affected": 0, "under_investigation": 1, "fixed": 2, "not_affected": 3}

IMAGE_COLUMNS = [
    "image",
    "reference",
    "statements",
    *STATUSES,
    "noise_reduction",
    "profile_complete",
    "openvex_version",
    "last_analyzed",
    "run_id",
]
VULNERABILITY_COLUMNS = [
    "vulnerability",
    "images",
    "images_affected",
    "images_not_affected",
    "images_under_investigation",
    "images_fixed",
    "components",
    "fixed_versions",
    "affected_in",
    "not_reached_in",
]


@dataclass(frozen=True)
class ImageOutcome:
    """One image's latest VEX: its statements (as stored in vex.statements.json) and where they came from."""

    image: str  # the partition key
    reference: str
    statements: list[dict[str, Any]]
    profile_complete: bool | None  # None: never observed
    analyzed_at: datetime
    run_id: str
    openvex_version: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def image_table(outcomes: Iterable[ImageOutcome]) -> pd.DataFrame:
    rows = []
    for outcome in outcomes:
        counts = dict.fromkeys(STATUSES, 0)
        for statement in outcome.statements:
            counts[statement["status"]] += 1
        total = len(outcome.statements)
        rows.append(
            {
                "image": outcome.image,
                "reference": outcome.reference,
                "statements": total,
                **counts,
                "noise_reduction": counts["not_affected"] / total if total else 0.0,
                "profile_complete": outcome.profile_complete,
                "openvex_version": outcome.openvex_version,
                "last_analyzed": pd.Timestamp(outcome.analyzed_at),
                "run_id": outcome.run_id,
            }
        )
    table = pd.DataFrame(rows, columns=IMAGE_COLUMNS)
    table = table.astype({c: "int64" for c in ("statements", *STATUSES, "openvex_version")})
    table["noise_reduction"] = table["noise_reduction"].astype("float64")
    table["profile_complete"] = table["profile_complete"].astype("boolean")
    table["last_analyzed"] = pd.to_datetime(table["last_analyzed"], utc=True)
    return table.sort_values(["affected", "under_investigation", "image"], ascending=[False, False, True], ignore_index=True)


def vulnerability_table(outcomes: Iterable[ImageOutcome]) -> pd.DataFrame:
    status_of: dict[str, dict[str, str]] = {}  # vulnerability -> image -> most urgent status
    components: dict[str, set[str]] = {}
    fixes: dict[str, set[str]] = {}
    for outcome in outcomes:
        for statement in outcome.statements:
            name, status = statement["vulnerability"], statement["status"]
            by_image = status_of.setdefault(name, {})
            current = by_image.get(outcome.image)
            if current is None or _URGENCY[status] < _URGENCY[current]:
                by_image[outcome.image] = status
            components.setdefault(name, set()).add(statement["component_purl"])
            fixes.setdefault(name, set()).update(statement.get("fixed_versions") or ())
    rows = []
    for name, by_image in status_of.items():
        images_with = {status: sorted(i for i, s in by_image.items() if s == status) for status in STATUSES}
        rows.append(
            {
                "vulnerability": name,
                "images": len(by_image),
                "images_affected": len(images_with["affected"]),
                "images_not_affected": len(images_with["not_affected"]),
                "images_under_investigation": len(images_with["under_investigation"]),
                "images_fixed": len(images_with["fixed"]),
                "components": " ".join(sorted(components[name])),
                "fixed_versions": " ".join(sorted(fixes[name])),
                "affected_in": " ".join(images_with["affected"]),
                "not_reached_in": " ".join(images_with["not_affected"]),
            }
        )
    table = pd.DataFrame(rows, columns=VULNERABILITY_COLUMNS)
    table = table.astype({c: "int64" for c in VULNERABILITY_COLUMNS[1:6]})
    return table.sort_values(
        ["images_affected", "images_under_investigation", "images", "vulnerability"],
        ascending=[False, False, False, True],
        ignore_index=True,
    )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def to_csv(table: pd.DataFrame) -> bytes:
    """The table as CSV for a spreadsheet: a text cell that would start a formula (an image reference
    or a package name is the customer's text) is prefixed with `'`, so it is shown, never evaluated."""
    safe = table.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(lambda v: f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return safe.to_csv(index=False).encode()


@dataclass(frozen=True)
class FleetPosture:
    images: pd.DataFrame
    vulnerabilities: pd.DataFrame

    def totals(self) -> dict[str, int | float]:
        """Fleet-wide numbers (plotted over time): images, statements by status, vulnerabilities by reach."""
        images, vulnerabilities = self.images, self.vulnerabilities
        statements = int(images["statements"].sum())
        return {
            "images": len(images),
            "statements": statements,
            **{f"statements_{status}": int(images[status].sum()) for status in STATUSES},
            "noise_reduction": float(images["not_affected"].sum() / statements) if statements else 0.0,
            "images_with_affected": int((images["affected"] > 0).sum()),
            "images_observed_incompletely": int((images["profile_complete"] == False).sum()),  # noqa: E712 (NA stays out)
            "images_never_observed": int(images["profile_complete"].isna().sum()),
            "vulnerabilities": len(vulnerabilities),
            "vulnerabilities_affected_somewhere": int((vulnerabilities["images_affected"] > 0).sum()),
            "vulnerabilities_never_reached": int(
                ((vulnerabilities["images_not_affected"] == vulnerabilities["images"]) & (vulnerabilities["images"] > 0)).sum()
            ),
        }


def fleet_posture(outcomes: Iterable[ImageOutcome]) -> FleetPosture:
    outcomes = list(outcomes)
    return FleetPosture(images=image_table(outcomes), vulnerabilities=vulnerability_table(outcomes))
