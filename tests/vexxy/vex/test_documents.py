"""OpenVEX 0.2.0 and CycloneDX 1.6 rendering, validated against the official schemas."""

from datetime import UTC, datetime

from builders import resolved_image, vulnerability_match

from vexxy.vex.cyclonedx import render_cyclonedx_vex
from vexxy.vex.openvex import render_openvex
from vexxy.vex.statements import ComponentEvidence, NoRuntimeEvidence, build_statements
from vexxy.vex.validation import cyclonedx_errors, openvex_errors

MANIFEST = "sha256:" + "1" * 64
INDEX = "sha256:" + "2" * 64


def image(index=None):
    return resolved_image(digest=MANIFEST, index_digest=index)


def matches():
    def m(advisory, cve, purl, ref):
        name, version = purl.split("/")[1].split("@")
        return vulnerability_match(
            ref, name, version, advisory=advisory, aliases=(f"GHSA-{ref}",), vulnerability=cve, summary=f"summary of {cve}"
        )

    return [m("PYSEC-1", "CVE-2020-1", "pkg:pypi/pyyaml@5.3.1", "y"), m("PYSEC-2", "CVE-2020-2", "pkg:pypi/jinja2@2.10", "j")]


class Evidence:
    def for_component(self, ref):
        return ComponentEvidence(5, ("/x.py",) if ref == "j" else (), True, "sha256:" + "5" * 64, "60 s")


def test_openvex_document_is_valid_and_names_image_and_packages():
    document = render_openvex(image(), build_statements(matches(), NoRuntimeEvidence()))
    assert openvex_errors(document) == []
    assert document["@context"] == "https://openvex.dev/ns/v0.2.0" and document["version"] == 1
    statement = document["statements"][0]
    assert statement["vulnerability"] == {
        "name": "CVE-2020-1",
        "aliases": ["GHSA-y", "PYSEC-1"],
        "description": "summary of CVE-2020-1",
    }
    (product,) = statement["products"]
    assert product["@id"] == f"pkg:oci/demo@{MANIFEST}"
    assert product["hashes"] == {"sha-256": "1" * 64}
    assert product["subcomponents"] == [{"@id": "pkg:pypi/pyyaml@5.3.1"}]
    assert statement["status"] == "under_investigation"


def test_multi_platform_image_lists_index_and_manifest():
    document = render_openvex(image(index=INDEX), build_statements(matches(), NoRuntimeEvidence()))
    assert [p["@id"] for p in document["statements"][0]["products"]] == [f"pkg:oci/demo@{MANIFEST}", f"pkg:oci/demo@{INDEX}"]
    assert openvex_errors(document) == []


def test_evidence_statements_are_valid_openvex_and_cyclonedx():
    statements = build_statements(matches(), Evidence())
    document = render_openvex(image(), statements)
    assert openvex_errors(document) == []
    by_name = {s["vulnerability"]["name"]: s for s in document["statements"]}
    assert by_name["CVE-2020-1"]["status"] == "not_affected"
    assert by_name["CVE-2020-1"]["justification"] == "vulnerable_code_not_in_execute_path"
    assert "impact_statement" not in by_name["CVE-2020-1"]  # the schema allows one of the two
    assert by_name["CVE-2020-2"]["status"] == "affected" and by_name["CVE-2020-2"]["action_statement"]
    cyclonedx = render_cyclonedx_vex(image(), statements)
    assert cyclonedx_errors(cyclonedx) == []
    import json

    vulnerabilities = {v["id"]: v for v in json.loads(cyclonedx)["vulnerabilities"]}
    assert vulnerabilities["CVE-2020-1"]["analysis"]["state"] == "not_affected"
    assert vulnerabilities["CVE-2020-1"]["analysis"]["justification"] == "code_not_reachable"
    assert vulnerabilities["CVE-2020-1"]["affects"] == [{"ref": "pkg:pypi/pyyaml@5.3.1"}]
    assert vulnerabilities["CVE-2020-2"]["analysis"]["state"] == "exploitable"


def test_version_is_bumped_only_when_statements_change():
    first = render_openvex(image(), build_statements(matches(), NoRuntimeEvidence()), now=datetime(2026, 1, 1, tzinfo=UTC))
    same = render_openvex(image(), build_statements(matches(), NoRuntimeEvidence()), previous=first)
    assert same == first
    changed = render_openvex(
        image(), build_statements(matches(), Evidence()), previous=first, now=datetime(2026, 2, 1, tzinfo=UTC)
    )
    assert changed["version"] == 2 and changed["@id"] == first["@id"]
    assert changed["last_updated"] == "2026-02-01T00:00:00Z" and changed["timestamp"] == first["timestamp"]
    assert openvex_errors(changed) == []


def test_validators_catch_broken_documents():
    document = render_openvex(image(), build_statements(matches(), NoRuntimeEvidence()))
    document["statements"][0]["status"] = "maybe"
    del document["author"]
    errors = openvex_errors(document)
    assert any("author" in e for e in errors) and any("maybe" in e for e in errors)
    assert cyclonedx_errors('{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": "one"}')


def test_confidence_and_its_reason_are_in_both_formats():
    import json

    class Checked:
        def for_component(self, ref):
            sites = ("/app/admin.py:3",) if ref == "y" else ()
            return ComponentEvidence(5, (), True, "sha256:" + "5" * 64, "60 s", imported_by=sites, imports_checked=True)

    statements = build_statements(matches(), Checked())
    document = render_openvex(image(), statements)
    assert openvex_errors(document) == []
    notes = {s["vulnerability"]["name"]: (s["status"], s["status_notes"]) for s in document["statements"]}
    assert notes["CVE-2020-1"][0] == "under_investigation"
    assert notes["CVE-2020-1"][1].startswith("Imported by `/app/admin.py:3` but not loaded")
    assert notes["CVE-2020-1"][1].endswith(" Confidence: medium (imported_not_loaded).")
    assert notes["CVE-2020-2"][0] == "not_affected"
    assert notes["CVE-2020-2"][1].endswith("No first-party code imports it. Confidence: high (not_loaded_not_imported).")
    cyclonedx = render_cyclonedx_vex(image(), statements)
    assert cyclonedx_errors(cyclonedx) == []
    vulnerabilities = {v["id"]: v for v in json.loads(cyclonedx)["vulnerabilities"]}
    assert vulnerabilities["CVE-2020-1"]["analysis"]["state"] == "in_triage"
    assert vulnerabilities["CVE-2020-1"]["analysis"]["detail"].endswith("Confidence: medium (imported_not_loaded).")
    assert vulnerabilities["CVE-2020-1"]["properties"] == [
        {"name": "vexxy:confidence", "value": "medium"},
        {"name": "vexxy:confidence_reason", "value": "imported_not_loaded"},
    ]
    assert {"name": "vexxy:confidence", "value": "high"} in vulnerabilities["CVE-2020-2"]["properties"]
