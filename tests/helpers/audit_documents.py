"""One small analysis's documents, made by the real mapping and statement code: an affected, a
not_affected and an under_investigation statement, for explanation, report and diff tests."""

from __future__ import annotations

from builders import vulnerability_match

from vexxy.audit.explain import AnalysisDocuments, files_of_matched
from vexxy.evidence.mapping import ProfileEvidence, map_profile
from vexxy.matching.matcher import VulnerabilityMatch
from vexxy.sbom.components import components_from_syft
from vexxy.vex.statements import build_statements

SITE = "/usr/local/lib/python3.11/dist-packages"
PROFILE_DIGEST = "sha256:" + "a" * 64


def python_artifact(ref: str, name: str, version: str, files: list[str]) -> dict:
    return {
        "id": ref,
        "name": name,
        "version": version,
        "type": "python",
        "purl": f"pkg:pypi/{name}@{version}",
        "locations": [{"path": f"{SITE}/{name}-{version}.dist-info/METADATA"}],
        "metadata": {"files": [{"path": f} for f in files]},
    }


def syft(description_name: str = "jinja2") -> dict:
    return {
        "artifacts": [
            python_artifact("j", description_name, "2.11.2", ["jinja2/__init__.py", "jinja2/lexer.py", "jinja2/utils.py"]),
            python_artifact("y", "pyyaml", "5.3.1", ["yaml/__init__.py", "yaml/constructor.py"]),
            {"id": "z", "name": "zlib1g", "version": "1:1.2.13", "type": "deb", "purl": "pkg:deb/debian/zlib1g@1:1.2.13"},
        ]
    }


def profile(complete: bool = True) -> dict:
    return {
        "digest": PROFILE_DIGEST,
        "backend": "local",
        "complete": complete,
        "incomplete_reason": "" if complete else "workload exited after 3 s",
        "window": {"observed_seconds": 20.0, "configured_seconds": 60, "ended_by": "quiet"},
        "observations": {
            "opens": {
                f"{SITE}/jinja2/__pycache__/lexer.cpython-311.pyc": {"first_seen": 1.25, "count": 3, "phase": "idle"},
                f"{SITE}/jinja2/__init__.py": {"first_seen": 1.0, "count": 1, "phase": "idle"},
                f"{SITE}/jinja2/utils.py": {"first_seen": 7.5, "count": 2, "phase": "fuzzing"},
            },
            "execs": {"/usr/bin/python3.11": {"first_seen": 0.0, "count": 1, "phase": "idle"}},
        },
    }


def match(vulnerability: str, advisory: str, ref: str, name: str, version: str, purl: str, summary: str) -> VulnerabilityMatch:
    return vulnerability_match(
        ref,
        name,
        version,
        purl=purl,
        advisory=advisory,
        aliases=(vulnerability,),
        vulnerability=vulnerability,
        summary=summary,
        matched=f"introduced 0, fixed 9.9 ({version} in range)",
        fixed="9.9",
    )


def documents(
    summary: str = "Jinja2 ReDoS in the urlize filter.", complete: bool = True, files_in_matches: bool = True
) -> AnalysisDocuments:
    """`files_in_matches=False`: matches as stored before they carried their components' files (the SBOM lists them)."""
    sbom = syft()
    components = components_from_syft(sbom)
    usage = map_profile(components, profile(complete), {})
    matches = [
        match("CVE-2020-28493", "PYSEC-2021-66", "j", "jinja2", "2.11.2", "pkg:pypi/jinja2@2.11.2", summary),
        match("CVE-2020-14343", "PYSEC-2021-142", "y", "pyyaml", "5.3.1", "pkg:pypi/pyyaml@5.3.1", "PyYAML full_load RCE."),
        match("CVE-2022-37434", "DEBIAN-CVE-2022-37434", "z", "zlib1g", "1:1.2.13", "pkg:deb/debian/zlib1g@1:1.2.13", "zlib."),
    ]
    # As the demo analysis has it: the app's imports read in full, Jinja2 the one package it imports.
    statements = build_statements(matches, ProfileEvidence(usage, {"j": ("/app/app.py:7",)}, imports_checked=True))
    return AnalysisDocuments(
        statements=[s.to_dict() for s in statements],
        vulnerabilities={
            "vulnerability_db": "d" * 64,
            "matches": [m.to_dict() for m in matches],
            **({"component_files": files_of_matched(components, matches)} if files_in_matches else {}),
        },
        usage=usage.to_dict(),
        syft=sbom,
        profile=profile(complete),
        symlinks={},
    )


PROVENANCE = {
    "partition": "127.0.0.1:5000/vexxy/demo@sha256:" + "1" * 64,
    "run_id": "0f0e0d0c-1111-2222-3333-444455556666",
    "job": "analyze_image",
    "materialized_at": "2026-11-30T22:00:00+00:00",
    "vexxy_version": "0.1.0",
    "code_version": "0f0e0d0c-1111-2222-3333-444455556666",
    "vulnerability_db": "d" * 64,
    "inputs": [
        {
            "asset": "execution_profile",
            "run_id": "0f0e0d0c-1111-2222-3333-444455556666",
            "materialized_at": "2026-11-30T21:59:40+00:00",
            "data_version": "e" * 64,
            "code_version": "0f0e0d0c-1111-2222-3333-444455556666",
            "documents": {"execution_profile.json": "f" * 64},
        }
    ],
}
