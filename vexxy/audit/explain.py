"""Why one VEX statement is what it is, rebuilt from an analysis's stored documents.

Every answer cites what decided it: the advisory range that matched, the component's files from the
SBOM, which of them the workload loaded and when (from the execution profile), the profile's
completeness and digest, and where the documents came from (run, code version, advisory snapshot).
Nothing here trusts the documents' text: callers escape it for their medium.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from vexxy.evidence.attribution import source_candidates
from vexxy.oci.layers.symlinks import resolve
from vexxy.sbom.components import components_from_syft
from vexxy.vex.confidence import label

# OSV identifiers: CVE-2020-28493, GHSA-xxxx-xxxx-xxxx, PYSEC-2021-66, DEBIAN-CVE-..., GO-2023-1234, ...
VULNERABILITY_ID = re.compile(r"[A-Za-z][A-Za-z0-9]{1,19}(?:-[A-Za-z0-9._]{1,40}){1,6}")
MAX_VULNERABILITY_ID = 100
FILES_SHOWN = 200  # a component may own thousands of files: the answer lists this many and counts the rest


def valid_vulnerability_id(text: str) -> bool:
    return len(text) <= MAX_VULNERABILITY_ID and VULNERABILITY_ID.fullmatch(text) is not None


@dataclass(frozen=True)
class AnalysisDocuments:
    """The parsed documents of one analysis (None: that document was not written, e.g. no sandbox evidence)."""

    statements: list[dict[str, Any]]
    vulnerabilities: dict[str, Any]
    usage: dict[str, Any] | None = None
    syft: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    symlinks: dict[str, str] | None = None


@dataclass(frozen=True)
class LoadedFile:
    path: str
    first_seen: float | None  # seconds into the observation
    count: int
    phase: str  # idle | fuzzing
    observed_as: str  # the path the workload opened (before symlinks and `.pyc` → `.py`)


@dataclass(frozen=True)
class Explanation:
    vulnerability: str
    aliases: list[str]
    description: str
    component_purl: str
    component_name: str
    component_version: str
    status: str
    justification: str | None
    impact_statement: str | None
    action_statement: str | None
    status_notes: str
    confidence: str
    fixed_versions: list[str]
    matched: list[dict[str, Any]]  # the advisory ranges that matched, one per advisory
    files_known: int
    files: list[str]  # the component's files (the first FILES_SHOWN)
    files_not_shown: int
    loaded: list[LoadedFile]
    imported_by: list[str]
    profile: dict[str, Any] | None  # digest, complete, incomplete_reason, window, backend; None: never observed
    provenance: dict[str, Any] = field(default_factory=dict)
    confidence_reason: str = ""  # why the confidence is what it is (`vexxy.vex.confidence.Reason`)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _matches_id(statement: dict[str, Any], wanted: str) -> bool:
    names = {statement["vulnerability"], *statement.get("aliases", ()), *statement.get("advisory_ids", ())}
    return wanted.upper() in {n.upper() for n in names}


def _observed(profile: dict[str, Any], symlinks: dict[str, str]) -> dict[str, LoadedFile]:
    """Every observed path, canonicalized as the usage mapping does, with its earliest observation."""
    seen: dict[str, LoadedFile] = {}
    observations = {**profile.get("observations", {}).get("opens", {}), **profile.get("observations", {}).get("execs", {})}
    for path, info in observations.items():
        canonical = resolve(path, symlinks)
        first, count = info.get("first_seen"), info.get("count", 0)
        for candidate in (canonical, *(resolve(source, symlinks) for source in source_candidates(canonical))):
            entry = seen.get(candidate)
            if entry is None or (first is not None and (entry.first_seen is None or first < entry.first_seen)):
                seen[candidate] = LoadedFile(
                    candidate, first, count + (entry.count if entry else 0), info.get("phase", "idle"), path
                )
            else:
                seen[candidate] = replace(entry, count=entry.count + count)
    return seen


def _profile_summary(usage: dict[str, Any] | None, profile: dict[str, Any] | None) -> dict[str, Any] | None:
    if usage is None and profile is None:
        return None
    summary: dict[str, Any] = {}
    if usage is not None:
        summary.update(
            digest=usage.get("profile_digest"),
            complete=usage.get("profile_complete"),
            incomplete_reason=usage.get("incomplete_reason", ""),
            window=usage.get("window"),
        )
    if profile is not None:
        window = profile.get("window", {})
        summary.update(
            digest=summary.get("digest") or profile.get("digest"),  # statements cite the usage's (the file's SHA-256)
            complete=profile.get("complete", summary.get("complete")),
            incomplete_reason=profile.get("incomplete_reason", summary.get("incomplete_reason", "")),
            backend=profile.get("backend"),
            observed_seconds=window.get("observed_seconds"),
            configured_seconds=window.get("configured_seconds"),
            ended_by=window.get("ended_by"),
            files_observed=len(profile.get("observations", {}).get("opens", {})),
            programs_observed=len(profile.get("observations", {}).get("execs", {})),
        )
    return summary


def files_of_matched(components, matches) -> dict[str, list[str]]:
    """{component ref: its files} for the components a match names: what explanations cite, without the whole SBOM."""
    matched = {m.component_ref for m in matches}
    return {c.ref: list(c.files) for c in components if c.ref in matched}


def explain(vulnerability: str, documents: AnalysisDocuments, provenance: dict[str, Any] | None = None) -> list[Explanation]:
    """One explanation per statement about `vulnerability` (its id or an alias), in component order; [] if none."""
    chosen = [s for s in documents.statements if _matches_id(s, vulnerability)]
    return _explain(sorted(chosen, key=lambda s: s["component_purl"]), documents, provenance) if chosen else []


def explain_all(documents: AnalysisDocuments, provenance: dict[str, Any] | None = None) -> list[Explanation]:
    """Every statement explained, by vulnerability then component (the profile is indexed once for all)."""
    ordered = sorted(documents.statements, key=lambda s: (s["vulnerability"], s["component_purl"]))
    return _explain(ordered, documents, provenance)


def _explain(chosen: list[dict[str, Any]], documents: AnalysisDocuments, provenance: dict[str, Any] | None) -> list[Explanation]:
    owned = documents.vulnerabilities.get("component_files")
    if owned is None:  # matches stored before they carried their components' files: the SBOM lists them
        owned = {c.ref: list(c.files) for c in components_from_syft(documents.syft)} if documents.syft else {}
    usages = {u["ref"]: u for u in (documents.usage or {}).get("components", [])}
    seen = _observed(documents.profile, documents.symlinks or {}) if documents.profile else {}
    matches: dict[str, list[dict[str, Any]]] = {}
    for m in documents.vulnerabilities.get("matches", []):
        matches.setdefault(m.get("component_ref"), []).append(m)
    answers = []
    for statement in chosen:
        ref = statement["component_ref"]
        usage = usages.get(ref, {})
        match = next(iter(matches.get(ref, [])), {})
        files = sorted({resolve(f, documents.symlinks or {}) for f in owned.get(ref, ())})
        loaded_paths = usage.get("files_loaded") or statement.get("evidence", {}).get("files_loaded", [])
        loaded = [seen.get(p) or LoadedFile(p, None, 0, "", p) for p in loaded_paths]
        evidence = statement.get("evidence", {})
        answers.append(
            Explanation(
                vulnerability=statement["vulnerability"],
                aliases=list(statement.get("aliases", [])),
                description=statement.get("description", ""),
                component_purl=statement["component_purl"],
                component_name=usage.get("name") or match.get("component_name", ""),
                component_version=usage.get("version") or match.get("component_version", ""),
                status=statement["status"],
                justification=statement.get("justification"),
                impact_statement=statement.get("impact_statement"),
                action_statement=statement.get("action_statement"),
                status_notes=statement.get("status_notes", ""),
                confidence=statement.get("confidence", ""),
                confidence_reason=statement.get("confidence_reason", ""),
                fixed_versions=list(statement.get("fixed_versions", [])),
                matched=[
                    {
                        k: m.get(k)
                        for k in ("advisory_id", "ecosystem", "matched", "introduced", "fixed", "last_affected", "modified")
                    }
                    for m in matches.get(ref, [])
                    if m.get("vulnerability") == statement["vulnerability"]
                ],
                files_known=usage.get("files_known", evidence.get("files_known", len(files))),
                files=files[:FILES_SHOWN],
                files_not_shown=max(0, len(files) - FILES_SHOWN),
                loaded=sorted(loaded, key=lambda f: (f.first_seen is None, f.first_seen or 0.0, f.path)),
                imported_by=list(evidence.get("imported_by", [])),
                profile=_profile_summary(documents.usage, documents.profile),
                provenance=dict(provenance or {}),
            )
        )
    return answers


def _seconds(value: float | None) -> str:
    return "time not recorded" if value is None else f"+{value:.2f} s"


def explanation_lines(answer: Explanation, files_listed: int = 20, provenance: bool = True) -> list[tuple[str, str]]:
    """(label, text) rows for a terminal or a report; text is as the documents say (escape it for the medium)."""
    rows = [
        ("vulnerability", answer.vulnerability + (f" (aliases {', '.join(answer.aliases)})" if answer.aliases else "")),
        ("component", f"{answer.component_purl}"),
        ("status", answer.status + (f" / {answer.justification}" if answer.justification else "")),
        ("confidence", label(answer.confidence, answer.confidence_reason)),
        ("why", answer.status_notes),
    ]
    if answer.action_statement:
        rows.append(("action", answer.action_statement))
    if answer.description:
        rows.append(("advisory", answer.description))
    for match in answer.matched:
        rows.append(("matched", f"{match['advisory_id']} ({match['ecosystem']}): {match['matched']}"))
    if answer.fixed_versions:
        rows.append(("fixed in", ", ".join(answer.fixed_versions)))
    shown = len(answer.files) + answer.files_not_shown
    rows.append(("component files", f"{answer.files_known} known to the SBOM" + (f", {shown} listed" if shown else "")))
    for path in answer.files[:files_listed]:
        rows.append(("", path))
    if shown > files_listed:
        rows.append(("", f"... and {shown - files_listed} more"))
    if answer.profile is None:
        rows.append(("loaded", "no runtime evidence: the image was not observed"))
    elif not answer.loaded:
        rows.append(("loaded", "none of the component's files"))
    for loaded in answer.loaded[:files_listed]:
        observed = f" (opened as {loaded.observed_as})" if loaded.observed_as != loaded.path else ""
        rows.append(
            ("loaded", f"{loaded.path} at {_seconds(loaded.first_seen)}, {loaded.count}x, {loaded.phase or 'phase?'}{observed}")
        )
    if len(answer.loaded) > files_listed:
        rows.append(("loaded", f"... and {len(answer.loaded) - files_listed} more"))
    for site in answer.imported_by:
        rows.append(("imported by", site))
    if answer.profile is not None:
        profile = answer.profile
        completeness = "complete" if profile.get("complete") else f"incomplete ({profile.get('incomplete_reason') or '?'})"
        rows.append(("profile", f"{profile.get('digest')}: {completeness}, {profile.get('window') or ''}".rstrip(", ")))
    cited = answer.provenance if provenance else {}
    if cited:
        rows.append(("run", f"{cited.get('run_id')} ({cited.get('job') or 'job?'}) at {cited.get('materialized_at')}"))
        rows.append(("vexxy", f"{cited.get('vexxy_version')}, code version {cited.get('code_version')}"))
        rows.append(("advisories", f"snapshot {cited.get('vulnerability_db')}"))
        for upstream in cited.get("inputs", []):
            rows.append(
                ("input", f"{upstream.get('asset')} from run {upstream.get('run_id')} at {upstream.get('materialized_at')}")
            )
    return rows
