"""The complete-profile rule through the real path: profile -> mapping -> statements -> OpenVEX and CycloneDX.

Hand-built evidence cannot catch a mapping that loses the profile's completeness; these tests
start from an execution profile and read the rendered documents.
"""

import json

import pytest
from builders import resolved_image, vulnerability_match

from vexxy.evidence.mapping import ProfileEvidence, UsageReport, map_profile
from vexxy.imports.image_files import ImageFiles
from vexxy.imports.python_source import PythonImports
from vexxy.imports.sites import EntryPoint
from vexxy.matching.matcher import VulnerabilityMatch
from vexxy.oci.image import ResolvedImage
from vexxy.sbom.components import Component
from vexxy.vex.cyclonedx import render_cyclonedx_vex
from vexxy.vex.openvex import render_openvex
from vexxy.vex.statements import build_statements
from vexxy.vex.validation import cyclonedx_errors, openvex_errors

SITE = "/usr/local/lib/python3.11/dist-packages"
COMPONENTS = [
    Component("j", "jinja2", "2.11.2", "python", "pkg:pypi/jinja2@2.11.2", "PyPI", "jinja2", "2.11.2", (f"{SITE}/jinja2/x.py",)),
    Component("y", "pyyaml", "5.3.1", "python", "pkg:pypi/pyyaml@5.3.1", "PyPI", "pyyaml", "5.3.1", (f"{SITE}/yaml/y.py",)),
]


def image() -> ResolvedImage:
    return resolved_image()


def profile(complete: bool) -> dict:
    return {
        "digest": "sha256:" + "a" * 64,
        "complete": complete,
        "incomplete_reason": "" if complete else "workload exited after 3 s",
        "window": {"observed_seconds": 3.0, "configured_seconds": 60, "ended_by": "exit" if not complete else "quiet"},
        "observations": {"opens": {f"{SITE}/jinja2/x.py": {"first_seen": 0.5, "count": 1, "phase": "idle"}}, "execs": {}},
    }


def matches() -> list[VulnerabilityMatch]:
    def match(cve: str, component: Component) -> VulnerabilityMatch:
        return vulnerability_match(
            component.ref,
            component.name,
            component.version,
            purl=component.purl,
            advisory=f"PYSEC-{cve}",
            vulnerability=cve,
            summary=f"summary of {cve}",
            matched="ECOSYSTEM >= 0 < 99",
            fixed="99",
        )

    return [match("CVE-2020-1", COMPONENTS[0]), match("CVE-2020-2", COMPONENTS[1])]


def rendered_states(complete: bool) -> tuple[dict[str, str], dict[str, str]]:
    """(OpenVEX status, CycloneDX analysis state) per vulnerability, the usage report stored and read back."""
    report = map_profile(COMPONENTS, profile(complete), {})
    report = UsageReport.from_dict(json.loads(json.dumps(report.to_dict())))
    statements = build_statements(matches(), ProfileEvidence(report))
    openvex = render_openvex(image(), statements)
    cyclonedx = render_cyclonedx_vex(image(), statements)
    assert openvex_errors(openvex) == [] and cyclonedx_errors(cyclonedx) == []
    by_openvex = {s["vulnerability"]["name"]: s["status"] for s in openvex["statements"]}
    by_cyclonedx = {v["id"]: v["analysis"]["state"] for v in json.loads(cyclonedx)["vulnerabilities"]}
    return by_openvex, by_cyclonedx


def test_an_incomplete_profile_never_yields_not_affected():
    openvex, cyclonedx = rendered_states(complete=False)
    assert openvex == {"CVE-2020-1": "affected", "CVE-2020-2": "under_investigation"}
    assert cyclonedx == {"CVE-2020-1": "exploitable", "CVE-2020-2": "in_triage"}


def test_a_complete_profile_yields_not_affected_for_the_unloaded_package():
    openvex, cyclonedx = rendered_states(complete=True)
    assert openvex == {"CVE-2020-1": "affected", "CVE-2020-2": "not_affected"}
    assert cyclonedx == {"CVE-2020-1": "exploitable", "CVE-2020-2": "not_affected"}


@pytest.mark.parametrize("complete", [False, True])
def test_the_incomplete_reason_reaches_the_statement(complete):
    report = map_profile(COMPONENTS, profile(complete), {})
    assert report.profile_complete is complete
    (pyyaml,) = [s for s in build_statements(matches(), ProfileEvidence(report)) if s.component_ref == "y"]
    assert ("workload exited after 3 s" in pyyaml.status_notes) is not complete


def test_the_usage_report_survives_storage_and_becomes_exact_evidence():
    report = map_profile(COMPONENTS, profile(complete=False), {})
    stored = UsageReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert stored == report
    evidence = ProfileEvidence(stored)
    jinja = evidence.for_component("j")
    assert (jinja.files_known, jinja.files_loaded, jinja.profile_complete) == (1, (f"{SITE}/jinja2/x.py",), False)
    assert (jinja.profile_digest, jinja.window, jinja.incomplete_reason) == (
        "sha256:" + "a" * 64,
        "3 s of 60 s, ended by exit",
        "workload exited after 3 s",
    )
    assert evidence.for_component("not-in-the-sbom") is None
    statement = build_statements(matches(), evidence)[0]
    data = statement.to_dict()
    assert data["status"] == "affected" and data["vulnerability"] == "CVE-2020-1" and data["component_ref"] == "j"
    assert json.loads(json.dumps(data))["evidence"]["files_loaded"] == [f"{SITE}/jinja2/x.py"]


def test_an_incomplete_profile_without_a_reason_says_so():
    observed = profile(complete=False)
    del observed["incomplete_reason"]
    report = map_profile(COMPONENTS, observed, {})
    assert report.incomplete_reason == ""
    (pyyaml,) = [s for s in build_statements(matches(), ProfileEvidence(report)) if s.component_ref == "y"]
    assert "the profile is incomplete (reason not recorded)" in pyyaml.status_notes


def test_a_package_first_party_code_imports_but_the_run_never_loaded_stays_under_investigation(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text("import jinja2\n\n\ndef export(data):\n    import yaml\n    return yaml.dump(data)\n")
    analysis = PythonImports().analyze(ImageFiles(tmp_path), COMPONENTS, EntryPoint(("python3", "/app/main.py"), "/app"))
    assert analysis.imported_by() == {"j": ("/app/main.py:1",), "y": ("/app/main.py:5",)}
    report = map_profile(COMPONENTS, profile(complete=True), {})
    statements = build_statements(matches(), ProfileEvidence(report, analysis.imported_by()))
    openvex = render_openvex(image(), statements)
    cyclonedx = render_cyclonedx_vex(image(), statements)
    assert openvex_errors(openvex) == [] and cyclonedx_errors(cyclonedx) == []
    by_openvex = {s["vulnerability"]["name"]: s for s in openvex["statements"]}
    assert by_openvex["CVE-2020-1"]["status"] == "affected"
    assert by_openvex["CVE-2020-2"]["status"] == "under_investigation"
    assert (
        "Imported by `/app/main.py:5` but not loaded during a complete observation of 3 s of 60 s"
        in (by_openvex["CVE-2020-2"]["status_notes"])
    )
    assert {v["id"]: v["analysis"]["state"] for v in json.loads(cyclonedx)["vulnerabilities"]} == {
        "CVE-2020-1": "exploitable",
        "CVE-2020-2": "in_triage",
    }


def pyyaml_statement(evidence: ProfileEvidence):
    (pyyaml,) = [s for s in build_statements(matches(), evidence) if s.component_ref == "y"]
    return pyyaml


def test_first_party_imports_checked_or_not_reach_the_not_affected_statement():
    """The import analysis's verdict travels through the evidence: checked is high confidence, not
    checked says why (or that nothing analyzed them)."""
    report = map_profile(COMPONENTS, profile(complete=True), {})
    checked = pyyaml_statement(ProfileEvidence(report, {}, imports_checked=True, imports_note="ignored once checked"))
    assert (checked.status.value, checked.confidence, checked.confidence_reason) == (
        "not_affected",
        "high",
        "not_loaded_not_imported",
    )
    assert checked.status_notes.endswith(" No first-party code imports it.")
    unchecked = pyyaml_statement(ProfileEvidence(report, {}, imports_checked=False, imports_note="no Python entry point"))
    assert (unchecked.status.value, unchecked.confidence) == ("not_affected", "medium")
    assert unchecked.status_notes.endswith(" First-party imports not checked: no Python entry point.")
    default = pyyaml_statement(ProfileEvidence(report))
    assert (default.confidence, default.confidence_reason) == ("medium", "not_loaded_imports_unchecked")
    assert default.status_notes.endswith(" First-party imports not checked: not analyzed.")
    evidence = ProfileEvidence(report).for_component("y")
    assert (evidence.imported_by, evidence.imports_checked, evidence.imports_note) == ((), False, "")
