"""What changed between two VEX: two analyses of one image, or two builds (digests) of one repository.

Statements are paired by (vulnerability, package): the package is its purl without the version, so a
new build that upgrades Jinja2 shows the same CVE with a new version (or gone), not a removal plus an
addition. Where one image holds two versions of a package, those statements are paired by full purl.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from packageurl import PackageURL

COMPARED = ("status", "justification", "confidence")  # what a reader acts on; notes cite run-specific digests


def package_of(purl: str) -> str:
    """`pkg:pypi/jinja2@2.11.2` -> `pkg:pypi/jinja2` (the package, whatever its version)."""
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return purl.split("@", 1)[0]
    return PackageURL(type=parsed.type, namespace=parsed.namespace, name=parsed.name).to_string()


def version_of(purl: str) -> str:
    try:
        return PackageURL.from_string(purl).version or ""
    except ValueError:
        return purl.rpartition("@")[2] if "@" in purl else ""


@dataclass(frozen=True)
class StatementChange:
    vulnerability: str
    package: str
    kind: str  # added | removed | changed
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    what: tuple[str, ...]  # readable changes, e.g. "status: not_affected -> affected"


@dataclass
class VexDiff:
    before: dict[str, Any]  # what the caller says the sides are (run ids, digests, snapshots)
    after: dict[str, Any]
    changes: list[StatementChange] = field(default_factory=list)
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        by_kind = Counter(c.kind for c in self.changes)
        return {
            "added": by_kind["added"],
            "removed": by_kind["removed"],
            "changed": by_kind["changed"],
            "unchanged": self.unchanged,
        }

    def summary(self) -> str:
        counts = self.counts()
        if not self.changes:
            return f"no change ({counts['unchanged']} statements the same)"
        return ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "counts": self.counts(),
            "summary": self.summary(),
            "changes": [asdict(c) | {"what": list(c.what)} for c in self.changes],
        }


def _view(statement: dict[str, Any]) -> dict[str, Any]:
    return {
        "component_purl": statement["component_purl"],
        "status": statement["status"],
        "justification": statement.get("justification"),
        "confidence": statement.get("confidence"),
        "fixed_versions": list(statement.get("fixed_versions", [])),
        "status_notes": statement.get("status_notes", ""),
    }


def _keyed(statements: list[dict[str, Any]], ambiguous: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    keyed = {}
    for s in statements:
        key = (s["vulnerability"], package_of(s["component_purl"]))
        keyed[key if key not in ambiguous else (s["vulnerability"], s["component_purl"])] = s
    return keyed


def diff_statements(
    before: list[dict[str, Any]], after: list[dict[str, Any]], before_about: dict | None = None, after_about: dict | None = None
) -> VexDiff:
    """The statements added, removed and changed from `before` to `after` (each a `vex.statements.json` list)."""
    ambiguous = set()
    for side in (before, after):
        counts = Counter((s["vulnerability"], package_of(s["component_purl"])) for s in side)
        ambiguous |= {key for key, n in counts.items() if n > 1}
    old, new = _keyed(before, ambiguous), _keyed(after, ambiguous)
    result = VexDiff(before=dict(before_about or {}), after=dict(after_about or {}))
    for key in sorted(old.keys() | new.keys()):
        vulnerability, package = key
        if key not in new:
            result.changes.append(
                StatementChange(vulnerability, package, "removed", _view(old[key]), None, ("no longer matched",))
            )
            continue
        if key not in old:
            result.changes.append(
                StatementChange(vulnerability, package, "added", None, _view(new[key]), (f"new: {new[key]['status']}",))
            )
            continue
        a, b = _view(old[key]), _view(new[key])
        what = [f"{name}: {a[name] or '-'} -> {b[name] or '-'}" for name in COMPARED if a[name] != b[name]]
        if a["component_purl"] != b["component_purl"]:
            what.append(f"version: {version_of(a['component_purl']) or '-'} -> {version_of(b['component_purl']) or '-'}")
        if a["fixed_versions"] != b["fixed_versions"]:
            what.append(f"fixed in: {', '.join(a['fixed_versions']) or '-'} -> {', '.join(b['fixed_versions']) or '-'}")
        if what:
            result.changes.append(StatementChange(vulnerability, package, "changed", a, b, tuple(what)))
        else:
            result.unchanged += 1
    return result
