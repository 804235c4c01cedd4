"""Provenance inside the exported documents: inputs by SHA-256, tool and author, BOM-Links, per-statement times."""

import json
from datetime import UTC, datetime

import pytest
from builders import resolved_image, vulnerability_match

from vexxy.vex.cyclonedx import render_cyclonedx_vex
from vexxy.vex.openvex import render_openvex, statement_times
from vexxy.vex.provenance import Provenance, SbomIdentity, vex_author, vexxy_version
from vexxy.vex.statements import ComponentEvidence, NoRuntimeEvidence, build_statements
from vexxy.vex.validation import cyclonedx_errors, openvex_errors

SERIAL = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "serialNumber": SERIAL,
    "version": 1,
    "metadata": {"component": {"bom-ref": "b0a1d2c3", "name": "demo"}},
    "components": [
        {"bom-ref": "pkg:pypi/pyyaml@5.3.1?package-id=y", "name": "pyyaml"},
        {"bom-ref": "pkg:pypi/jinja2@2.10?package-id=j", "name": "jinja2"},
    ],
}


def image():
    return resolved_image()


def matches():
    def m(advisory, cve, purl, ref):
        name, version = purl.split("/")[1].split("@")
        return vulnerability_match(ref, name, version, advisory=advisory, vulnerability=cve, summary=f"summary of {cve}")

    return [m("PYSEC-1", "CVE-2020-1", "pkg:pypi/pyyaml@5.3.1", "y"), m("PYSEC-2", "CVE-2020-2", "pkg:pypi/jinja2@2.10", "j")]


class Evidence:
    """jinja2 ("j") loaded, pyyaml ("y") not, during a complete observation."""

    def for_component(self, ref):
        return ComponentEvidence(5, ("/x.py",) if ref == "j" else (), True, "sha256:" + "5" * 64, "60 s")


def provenance(**changes):
    values = {
        "advisory_snapshot": "a" * 64,
        "sbom": SbomIdentity.from_cyclonedx("sbom.cdx.json", "b" * 64, SBOM),
        "profile_name": "execution_profile.json",
        "profile_sha256": "c" * 64,
        "author": "Security Team <security@example.com>",
    }
    return Provenance(**{**values, **changes})


def test_openvex_names_every_input_by_sha256_and_stays_valid():
    document = render_openvex(image(), build_statements(matches(), Evidence()), provenance=provenance())
    assert openvex_errors(document) == []
    assert document["author"] == "Security Team <security@example.com>"
    assert document["tooling"] == (
        f"vexxy {vexxy_version()} (runtime-evidence VEX); advisories: OSV snapshot {'a' * 64}; "
        f"SBOM sbom.cdx.json sha256:{'b' * 64} (urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1); "
        f"execution profile execution_profile.json sha256:{'c' * 64} (SHA-256 of the file)"
    )
    assert all(s["timestamp"] == document["timestamp"] for s in document["statements"])


def test_without_runtime_evidence_the_tooling_says_so():
    document = render_openvex(
        image(), build_statements(matches(), NoRuntimeEvidence()), provenance=provenance(profile_name=None, profile_sha256=None)
    )
    assert "no execution profile (no runtime evidence)" in document["tooling"] and openvex_errors(document) == []


def test_statement_timestamps_are_kept_while_a_statement_is_unchanged():
    january, february = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    first = render_openvex(image(), build_statements(matches(), NoRuntimeEvidence()), now=january, provenance=provenance())
    assert render_openvex(image(), build_statements(matches(), NoRuntimeEvidence()), previous=first, now=february) == first
    # Evidence arrives: both statements change, both get the new time.
    changed = render_openvex(image(), build_statements(matches(), Evidence()), previous=first, now=february)
    assert {s["timestamp"] for s in changed["statements"]} == {"2026-02-01T00:00:00Z"}
    # A later document where one statement goes keeps the other's time.
    march = datetime(2026, 3, 1, tzinfo=UTC)
    fewer = render_openvex(image(), build_statements(matches()[:1], Evidence()), previous=changed, now=march)
    assert fewer["version"] == changed["version"] + 1
    assert [s["timestamp"] for s in fewer["statements"]] == ["2026-02-01T00:00:00Z"]
    assert openvex_errors(fewer) == []
    assert statement_times(fewer) == {("CVE-2020-1", "pkg:pypi/pyyaml@5.3.1"): february}


def test_cyclonedx_lists_the_tool_author_inputs_and_links_the_sbom():
    statements = build_statements(matches(), Evidence())
    at = datetime(2026, 1, 1, tzinfo=UTC)
    text = render_cyclonedx_vex(
        image(),
        statements,
        provenance=provenance(),
        statement_times={("CVE-2020-1", "pkg:pypi/pyyaml@5.3.1"): at},
        now=datetime(2026, 2, 1, tzinfo=UTC),
    )
    assert cyclonedx_errors(text) == []
    document = json.loads(text)
    metadata = document["metadata"]
    assert metadata["tools"]["components"] == [{"type": "application", "name": "vexxy", "version": vexxy_version()}]
    assert metadata["authors"] == [{"name": "Security Team <security@example.com>"}]
    properties = {p["name"]: p["value"] for p in metadata["properties"]}
    assert properties["vexxy:advisory_snapshot"] == "a" * 64 and properties["vexxy:sbom_sha256"] == "b" * 64
    assert properties["vexxy:execution_profile_sha256"] == "c" * 64
    assert properties["vexxy:execution_profile"] == "execution_profile.json"
    (sbom_link,) = document["externalReferences"]
    assert sbom_link["type"] == "bom" and sbom_link["url"] == "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1"
    assert sbom_link["hashes"] == [{"alg": "SHA-256", "content": "b" * 64}]
    assert metadata["component"]["externalReferences"][0]["url"].endswith("/1#b0a1d2c3")
    links = {c["bom-ref"]: c["externalReferences"][0]["url"] for c in document["components"]}
    assert links["pkg:pypi/pyyaml@5.3.1"] == (
        "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#pkg%3Apypi/pyyaml%405.3.1%3Fpackage-id%3Dy"
    )
    analyses = {v["id"]: v["analysis"] for v in document["vulnerabilities"]}
    assert analyses["CVE-2020-1"]["firstIssued"].startswith("2026-01-01T00:00:00")
    assert analyses["CVE-2020-1"]["lastUpdated"].startswith("2026-02-01T00:00:00")
    assert "firstIssued" not in analyses["CVE-2020-2"]


def test_an_sbom_without_a_well_formed_serial_number_gets_no_link():
    sbom = SbomIdentity.from_cyclonedx("sbom.cdx.json", "b" * 64, {**SBOM, "serialNumber": "urn:uuid:../../x", "version": "2"})
    assert sbom.bom_link() is None and sbom.version == 1
    text = render_cyclonedx_vex(image(), build_statements(matches(), Evidence()), provenance=provenance(sbom=sbom))
    assert cyclonedx_errors(text) == [] and "externalReferences" not in json.loads(text)
    assert "vexxy:sbom_sha256" in text


def test_author_comes_from_the_environment_bounded_to_one_line():
    assert vex_author("") == "vexxy"
    assert vex_author("  ACME\n  Security  ") == "ACME Security"
    assert len(vex_author("x" * 5000)) == 200
    with pytest.raises(ValueError):
        vex_author("ACME\x1b[31m")
    with pytest.raises(ValueError):
        provenance(profile_sha256="../etc/passwd")


def test_the_analysis_configuration_ends_the_tooling_and_a_new_one_is_a_new_version():
    statements = build_statements(matches(), Evidence())
    first = render_openvex(image(), statements, config_hash="sha256:" + "d" * 64, provenance=provenance())
    assert first["tooling"].startswith("vexxy ") and first["tooling"].endswith(f"; analysis configuration sha256:{'d' * 64}")
    again = render_openvex(image(), statements, previous=first, config_hash="sha256:" + "d" * 64, provenance=provenance())
    assert again == first
    other = render_openvex(image(), statements, previous=first, config_hash="sha256:" + "e" * 64, provenance=provenance())
    assert other["version"] == 2 and openvex_errors(other) == []
    assert render_openvex(image(), statements, previous=other, provenance=provenance())["version"] == 3  # back to default


def test_without_an_sbom_the_documents_say_so():
    bare = provenance(sbom=None)
    document = render_openvex(image(), build_statements(matches(), Evidence()), provenance=bare)
    assert "; no SBOM; execution profile" in document["tooling"] and openvex_errors(document) == []
    text = render_cyclonedx_vex(image(), build_statements(matches(), Evidence()), provenance=bare)
    assert cyclonedx_errors(text) == [] and "vexxy:sbom" not in text and "urn:cdx:" not in text
