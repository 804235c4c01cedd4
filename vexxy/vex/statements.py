"""Decide each VEX statement from the matches and whatever runtime evidence exists.

The decision is the product's core rule, so it lives here, in one place:
- `affected` when a file of the component was loaded;
- `not_affected` / `vulnerable_code_not_in_execute_path` only when the component's files are
  known, none was loaded during a complete observation, no first-party code imports it, and no
  first-party code loads code by a name vexxy cannot read that could be the component's;
- `under_investigation` otherwise, saying which evidence is missing.
Every decision also sets a confidence and its reason (`vexxy.vex.confidence`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Protocol

from vexxy.matching.matcher import VulnerabilityMatch
from vexxy.vex.confidence import LEVEL, Reason


class Status(str, Enum):
    NOT_AFFECTED = "not_affected"
    AFFECTED = "affected"
    FIXED = "fixed"
    UNDER_INVESTIGATION = "under_investigation"


NOT_IN_EXECUTE_PATH = "vulnerable_code_not_in_execute_path"


@dataclass(frozen=True)
class ComponentEvidence:
    """What the runtime profile says about one component's files."""

    files_known: int  # files the SBOM says the component owns (0 = unknown)
    files_loaded: tuple[str, ...]  # owned files the workload opened or executed
    profile_complete: bool
    profile_digest: str
    window: str  # readable observation window, e.g. "60 s (idle 40 s, fuzzing 20 s)"
    incomplete_reason: str = ""
    imported_by: tuple[str, ...] = ()  # first-party import sites naming the component, as `file:line`
    imports_checked: bool = False  # first-party code was found and read in full: `imported_by` is complete
    imports_note: str = ""  # why the imports were not checked, when they were not
    # first-party sites loading code by a name vexxy cannot read that could load this component: (`file:line`, construct)
    dynamic_loads: tuple[tuple[str, str], ...] = ()
    lookalikes: tuple[str, ...] = ()  # unowned code the workload loaded whose module path ends like this component's
    listed_code_missing: int = 0  # code files its metadata lists that the image lacks (then its files are unknown)
    unattributed: tuple[str, ...] = ()  # code the workload loaded that nothing accounts for and that could be this component


class EvidenceSource(Protocol):
    """Anything that can say what was observed of a component (None: nothing observed at all)."""

    def for_component(self, component_ref: str) -> ComponentEvidence | None: ...


class NoRuntimeEvidence:
    """The state before the sandbox has observed the image: every statement stays open."""

    def for_component(self, component_ref: str) -> ComponentEvidence | None:
        return None


@dataclass(frozen=True)
class Statement:
    vulnerability: str
    aliases: tuple[str, ...]
    advisory_ids: tuple[str, ...]
    description: str
    component_purl: str
    component_ref: str
    status: Status
    justification: str | None
    impact_statement: str | None
    action_statement: str | None
    status_notes: str
    confidence: str  # high | medium | low
    fixed_versions: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)
    confidence_reason: str = ""  # a `vexxy.vex.confidence.Reason` value

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


def _cited(items: tuple[str, ...], shown: int = 5) -> str:
    """The first few items in backticks, `...` when there are more: how a note names files and sites."""
    return ", ".join(f"`{item}`" for item in items[:shown]) + (" ..." if len(items) > shown else "")


def _listed(key: str, items: tuple[str, ...], kept: int = 20) -> dict[str, Any]:
    """The evidence detail for `items`: the first twenty, and how many there were."""
    return {key: list(items[:kept]), f"{key}_count": len(items)}


def _decide(
    evidence: ComponentEvidence | None, fixes: tuple[str, ...]
) -> tuple[Status, str | None, str | None, str | None, str, Reason, dict[str, Any]]:
    upgrade = (
        f"Upgrade to {' or '.join(fixes)} or later." if fixes else "No fixed release is known; remove the package or mitigate."
    )
    if evidence is None:
        return (
            Status.UNDER_INVESTIGATION,
            None,
            None,
            None,
            "No runtime evidence yet: the image has not been observed in the sandbox.",
            Reason.NO_RUNTIME_EVIDENCE,
            {"runtime_evidence": "none"},
        )
    details = {
        "profile_digest": evidence.profile_digest,
        "observation_window": evidence.window,
        "profile_complete": evidence.profile_complete,
        "files_known": evidence.files_known,
        "files_loaded": list(evidence.files_loaded[:20]),
        "files_loaded_count": len(evidence.files_loaded),
    }
    if evidence.files_loaded:
        shown = ", ".join(evidence.files_loaded[:5]) + (" ..." if len(evidence.files_loaded) > 5 else "")
        note = (
            f"{len(evidence.files_loaded)} of the component's {evidence.files_known or 'unknown number of'} files were loaded "
            f"during observation ({shown}); profile {evidence.profile_digest}, window {evidence.window}."
        )
        action = f"The vulnerable component is loaded at runtime. {upgrade}"
        return Status.AFFECTED, None, None, action, note, Reason.LOADED, details
    if evidence.files_known == 0 and evidence.listed_code_missing:
        note = (
            f"The package's metadata lists {evidence.listed_code_missing} code files the image does not hold, so where "
            "its code is cannot be known from it and runtime evidence cannot show whether it is used."
        )
        details = {**details, "listed_code_missing": evidence.listed_code_missing}
        return Status.UNDER_INVESTIGATION, None, None, None, note, Reason.UNKNOWN_FILES, details
    if evidence.files_known == 0:
        note = "The SBOM lists no files for this component, so runtime evidence cannot show whether it is used."
        return Status.UNDER_INVESTIGATION, None, None, None, note, Reason.UNKNOWN_FILES, details
    if not evidence.profile_complete:
        note = (
            f"None of the component's {evidence.files_known} files was seen, but the profile is incomplete "
            f"({evidence.incomplete_reason or 'reason not recorded'}); profile {evidence.profile_digest}."
        )
        return Status.UNDER_INVESTIGATION, None, None, None, note, Reason.INCOMPLETE_PROFILE, details
    if evidence.lookalikes:
        shown = _cited(evidence.lookalikes)
        note = (
            f"None of the component's own files was loaded, but the workload loaded code that looks like it: {shown}; "
            f"that code belongs to no package, so it may be this component under another path; profile "
            f"{evidence.profile_digest}."
        )
        details = {**details, **_listed("lookalikes", evidence.lookalikes)}
        return Status.UNDER_INVESTIGATION, None, None, None, note, Reason.LOOKALIKE_LOADED, details
    if evidence.imported_by:
        sites = _cited(evidence.imported_by)
        note = (
            f"Imported by {sites} but not loaded during a complete observation of {evidence.window}: the code path "
            f"that imports it was not reached; profile {evidence.profile_digest}."
        )
        details = {**details, **_listed("imported_by", evidence.imported_by)}
        return Status.UNDER_INVESTIGATION, None, None, None, note, Reason.IMPORTED_NOT_LOADED, details
    if evidence.dynamic_loads:
        loads = evidence.dynamic_loads
        shown = ", ".join(f"`{where}` ({what})" for where, what in loads[:3]) + (" ..." if len(loads) > 3 else "")
        note = (
            f"First-party code loads a module or library whose name vexxy cannot read at {shown}; none of the component's "
            f"{evidence.files_known} files was loaded during a complete observation of {evidence.window}, but that code "
            f"path may load it; profile {evidence.profile_digest}."
        )
        details = {
            **details,
            "dynamic_loads": [{"site": where, "construct": what} for where, what in loads[:20]],
            "dynamic_loads_count": len(loads),
        }
        return Status.UNDER_INVESTIGATION, None, None, None, note, Reason.DYNAMIC_IMPORT_NOT_LOADED, details
    if evidence.unattributed:
        shown = _cited(evidence.unattributed)
        note = (
            f"None of the component's {evidence.files_known} files was loaded during a complete observation of "
            f"{evidence.window}, but the workload loaded code that no package and no file of the image accounts for "
            f"({shown}): it was written or changed at run time, and could be this component; profile "
            f"{evidence.profile_digest}."
        )
        details = {**details, **_listed("unattributed_code", evidence.unattributed)}
        return Status.UNDER_INVESTIGATION, None, None, None, note, Reason.UNATTRIBUTED_CODE_LOADED, details
    note = (
        f"None of the component's {evidence.files_known} files was opened or executed during a complete observation "
        f"({evidence.window}); profile {evidence.profile_digest}."
    )
    if evidence.imports_checked:
        note += " No first-party code imports it."
        reason = Reason.NOT_LOADED_NOT_IMPORTED
    else:
        note += f" First-party imports not checked: {evidence.imports_note or 'not analyzed'}."
        reason = Reason.NOT_LOADED_IMPORTS_UNCHECKED
    return Status.NOT_AFFECTED, NOT_IN_EXECUTE_PATH, None, None, note, reason, details


def build_statements(matches: list[VulnerabilityMatch], evidence: EvidenceSource) -> list[Statement]:
    """One statement per (vulnerability, component), merging advisories that name the same CVE."""
    grouped: dict[tuple[str, str], list[VulnerabilityMatch]] = {}
    for match in matches:
        grouped.setdefault(match.key, []).append(match)
    statements = []
    for (vulnerability, purl), group in sorted(grouped.items()):
        advisory_ids = tuple(sorted({m.advisory_id for m in group}))
        aliases = tuple(sorted(({a for m in group for a in m.aliases} | set(advisory_ids)) - {vulnerability}))
        fixes = tuple(sorted({m.fixed for m in group if m.fixed}))
        status, justification, impact, action, notes, reason, details = _decide(
            evidence.for_component(group[0].component_ref), fixes
        )
        statements.append(
            Statement(
                vulnerability=vulnerability,
                aliases=aliases,
                advisory_ids=advisory_ids,
                description=next((m.summary for m in group if m.summary), ""),
                component_purl=purl,
                component_ref=group[0].component_ref,
                status=status,
                justification=justification,
                impact_statement=impact,
                action_statement=action,
                status_notes=notes,
                confidence=LEVEL[reason],
                fixed_versions=fixes,
                evidence={**details, "matched": sorted({f"{m.advisory_id}: {m.matched}" for m in group})},
                confidence_reason=reason.value,
            )
        )
    return statements
