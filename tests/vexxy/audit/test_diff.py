"""VEX diffs: a re-analysis of one image (status moved, statement gone) and a new build (versions moved)."""

import copy

from audit_documents import documents

from vexxy.audit.diff import diff_statements, package_of


def test_same_statements_are_no_change():
    statements = documents().statements
    diff = diff_statements(statements, copy.deepcopy(statements))
    assert diff.changes == [] and diff.counts() == {"added": 0, "removed": 0, "changed": 0, "unchanged": 3}
    assert diff.summary() == "no change (3 statements the same)"


def test_an_advisory_refresh_and_a_new_observation():
    before = documents().statements
    after = copy.deepcopy(before)
    after = [s for s in after if s["vulnerability"] != "CVE-2022-37434"]  # advisory withdrawn
    pyyaml = next(s for s in after if s["vulnerability"] == "CVE-2020-14343")
    pyyaml.update(status="affected", justification=None, confidence="high")  # loaded in the new observation
    after.append({**copy.deepcopy(pyyaml), "vulnerability": "CVE-2024-0001", "status": "under_investigation"})
    diff = diff_statements(before, after, {"run_id": "r1"}, {"run_id": "r2"})
    assert diff.counts() == {"added": 1, "removed": 1, "changed": 1, "unchanged": 1}
    by_kind = {c.kind: c for c in diff.changes}
    assert by_kind["changed"].what == (
        "status: not_affected -> affected",
        "justification: vulnerable_code_not_in_execute_path -> -",
    )
    assert by_kind["removed"].vulnerability == "CVE-2022-37434" and by_kind["removed"].after is None
    assert by_kind["added"].what == ("new: under_investigation",)
    as_dict = diff.to_dict()
    assert as_dict["before"] == {"run_id": "r1"} and as_dict["summary"] == "1 added, 1 removed, 1 changed, 1 unchanged"


def test_a_new_build_pairs_a_package_across_versions():
    before = documents().statements
    after = copy.deepcopy(before)
    jinja = next(s for s in after if s["vulnerability"] == "CVE-2020-28493")
    jinja["component_purl"] = "pkg:pypi/jinja2@2.11.3"
    jinja["fixed_versions"] = ["2.11.3"]
    diff = diff_statements(before, after)
    (change,) = diff.changes
    assert change.kind == "changed" and change.package == "pkg:pypi/jinja2"
    assert change.what == ("version: 2.11.2 -> 2.11.3", "fixed in: 9.9 -> 2.11.3")


def test_two_versions_of_one_package_in_an_image_are_paired_by_version():
    before = documents().statements
    jinja = next(s for s in before if s["vulnerability"] == "CVE-2020-28493")
    second = {**copy.deepcopy(jinja), "component_purl": "pkg:pypi/jinja2@2.10", "status": "not_affected"}
    diff = diff_statements([*before, second], before)
    (removed,) = diff.changes
    assert removed.kind == "removed" and removed.package == "pkg:pypi/jinja2@2.10"


def test_package_of_drops_the_version_only():
    assert package_of("pkg:deb/debian/zlib1g@1:1.2.13") == "pkg:deb/debian/zlib1g"
    assert package_of("pkg:npm/%40scope/name@1.0.0") == "pkg:npm/%40scope/name"
    assert package_of("not a purl@1") == "not a purl"
