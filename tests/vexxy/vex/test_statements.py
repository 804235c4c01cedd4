"""The statement rule: evidence decides, and without evidence nothing is ever `not_affected`."""

from builders import vulnerability_match

from vexxy.vex.statements import ComponentEvidence, NoRuntimeEvidence, Status, build_statements


def match(advisory, vulnerability, purl="pkg:pypi/pyyaml@5.3.1", ref="c1", aliases=(), fixed="5.4"):
    return vulnerability_match(
        ref,
        purl=purl,
        advisory=advisory,
        aliases=aliases,
        vulnerability=vulnerability,
        matched="ECOSYSTEM >= 0 < 5.4",
        fixed=fixed,
    )


class Evidence:
    def __init__(self, by_ref):
        self.by_ref = by_ref

    def for_component(self, ref):
        return self.by_ref.get(ref)


def test_without_runtime_evidence_everything_is_under_investigation():
    statements = build_statements([match("PYSEC-1", "CVE-1"), match("PYSEC-2", "CVE-2")], NoRuntimeEvidence())
    assert [s.status for s in statements] == [Status.UNDER_INVESTIGATION] * 2
    assert all("No runtime evidence" in s.status_notes for s in statements)


def test_advisories_naming_the_same_cve_become_one_statement():
    statements = build_statements(
        [
            match("PYSEC-2021-142", "CVE-2020-14343", aliases=("GHSA-x",)),
            match("GHSA-x", "CVE-2020-14343", aliases=("CVE-2020-14343",)),
        ],
        NoRuntimeEvidence(),
    )
    (statement,) = statements
    assert statement.advisory_ids == ("GHSA-x", "PYSEC-2021-142")
    assert statement.aliases == ("GHSA-x", "PYSEC-2021-142")


def test_evidence_decides_the_status():
    loaded = ComponentEvidence(10, ("/a/yaml/__init__.py",), True, "sha256:p", "60 s")
    unseen = ComponentEvidence(10, (), True, "sha256:p", "60 s")
    unknown = ComponentEvidence(0, (), True, "sha256:p", "60 s")
    partial = ComponentEvidence(10, (), False, "sha256:p", "20 s", incomplete_reason="workload exited")
    refs = {"loaded": loaded, "unseen": unseen, "unknown": unknown, "partial": partial}
    statements = build_statements(
        [match("P", "CVE-1", purl=f"pkg:pypi/{r}@1", ref=r) for r in refs]
        + [match("P", "CVE-1", purl="pkg:pypi/none@1", ref="none")],
        Evidence(refs),
    )
    by_ref = {s.component_ref: s for s in statements}
    assert by_ref["loaded"].status is Status.AFFECTED and "Upgrade to 5.4" in by_ref["loaded"].action_statement
    assert by_ref["unseen"].status is Status.NOT_AFFECTED
    assert by_ref["unseen"].justification == "vulnerable_code_not_in_execute_path"
    assert "sha256:p" in by_ref["unseen"].status_notes
    assert by_ref["unknown"].status is Status.UNDER_INVESTIGATION and "lists no files" in by_ref["unknown"].status_notes
    assert by_ref["partial"].status is Status.UNDER_INVESTIGATION and "workload exited" in by_ref["partial"].status_notes
    assert by_ref["none"].status is Status.UNDER_INVESTIGATION


def test_imported_but_not_loaded_is_under_investigation_with_the_import_sites():
    sites = tuple(f"/app/views.py:{line}" for line in range(1, 8))
    imported = ComponentEvidence(10, (), True, "sha256:p", "60 s", imported_by=sites)
    loaded_and_imported = ComponentEvidence(10, ("/a/yaml/__init__.py",), True, "sha256:p", "60 s", imported_by=sites)
    partial_and_imported = ComponentEvidence(10, (), False, "sha256:p", "20 s", "workload exited", imported_by=sites)
    refs = {"imported": imported, "loaded": loaded_and_imported, "partial": partial_and_imported}
    statements = {
        s.component_ref: s
        for s in build_statements([match("P", "CVE-1", purl=f"pkg:pypi/{r}@1", ref=r) for r in refs], Evidence(refs))
    }
    statement = statements["imported"]
    assert (statement.status, statement.justification, statement.confidence) == (Status.UNDER_INVESTIGATION, None, "medium")
    assert statement.confidence_reason == "imported_not_loaded"
    assert statement.status_notes == (
        "Imported by `/app/views.py:1`, `/app/views.py:2`, `/app/views.py:3`, `/app/views.py:4`, `/app/views.py:5` ..."
        " but not loaded during a complete observation of 60 s: the code path that imports it was not reached;"
        " profile sha256:p."
    )
    assert statement.evidence["imported_by"] == list(sites) and statement.evidence["imported_by_count"] == 7
    assert statements["loaded"].status == Status.AFFECTED and "imported_by" not in statements["loaded"].evidence
    assert statements["partial"].status == Status.UNDER_INVESTIGATION
    assert "profile is incomplete" in statements["partial"].status_notes


def test_import_sites_are_shown_up_to_five_and_kept_up_to_twenty():
    def imported_by(count: int):
        sites = tuple(f"/app/views.py:{line}" for line in range(1, count + 1))
        evidence = {"c1": ComponentEvidence(10, (), True, "sha256:p", "60 s", imported_by=sites)}
        (statement,) = build_statements([match("P", "CVE-1")], Evidence(evidence))
        return statement

    five, six, twenty_one = imported_by(5), imported_by(6), imported_by(21)
    assert (
        five.status_notes.startswith("Imported by `/app/views.py:1`,") and "`/app/views.py:5` but not loaded" in five.status_notes
    )
    assert "`/app/views.py:5` ... but not loaded" in six.status_notes and "views.py:6" not in six.status_notes
    assert five.evidence["imported_by_count"] == 5 and len(five.evidence["imported_by"]) == 5
    assert twenty_one.evidence["imported_by"] == [f"/app/views.py:{line}" for line in range(1, 21)]
    assert twenty_one.evidence["imported_by_count"] == 21


def test_code_loaded_by_a_name_vexxy_cannot_read_keeps_the_components_it_could_load_open():
    loads = (("/app/main.py:7", "`__import__` with a computed name"), ("/app/plugins.py:3", "`exec` of computed source"))
    reachable = ComponentEvidence(10, (), True, "sha256:p", "60 s", imports_note="dynamic", dynamic_loads=loads)
    loaded = ComponentEvidence(10, ("/a/yaml/__init__.py",), True, "sha256:p", "60 s", dynamic_loads=loads)
    imported = ComponentEvidence(10, (), True, "sha256:p", "60 s", imported_by=("/app/x.py:1",), dynamic_loads=loads)
    no_code = ComponentEvidence(4, (), True, "sha256:p", "60 s", imports_note="dynamic")  # holds no module or library
    refs = {"reachable": reachable, "loaded": loaded, "imported": imported, "no_code": no_code}
    statements = {
        s.component_ref: s
        for s in build_statements([match("P", "CVE-1", purl=f"pkg:pypi/{r}@1", ref=r) for r in refs], Evidence(refs))
    }
    statement = statements["reachable"]
    assert (statement.status, statement.justification, statement.confidence) == (Status.UNDER_INVESTIGATION, None, "medium")
    assert statement.confidence_reason == "dynamic_import_not_loaded"
    assert statement.status_notes == (
        "First-party code loads a module or library whose name vexxy cannot read at `/app/main.py:7` (`__import__` with a"
        " computed name), `/app/plugins.py:3` (`exec` of computed source); none of the component's 10 files was loaded"
        " during a complete observation of 60 s, but that code path may load it; profile sha256:p."
    )
    assert statement.evidence["dynamic_loads"] == [
        {"site": "/app/main.py:7", "construct": "`__import__` with a computed name"},
        {"site": "/app/plugins.py:3", "construct": "`exec` of computed source"},
    ]
    assert statement.evidence["dynamic_loads_count"] == 2
    assert statements["loaded"].status is Status.AFFECTED and statements["loaded"].confidence_reason == "loaded"
    assert statements["imported"].confidence_reason == "imported_not_loaded"
    assert statements["no_code"].status is Status.NOT_AFFECTED
    assert statements["no_code"].confidence_reason == "not_loaded_imports_unchecked"


def test_dynamic_load_sites_are_shown_up_to_three_and_kept_up_to_twenty():
    loads = tuple((f"/app/x.py:{line}", "`exec` of computed source") for line in range(1, 22))
    evidence = {"c1": ComponentEvidence(10, (), True, "sha256:p", "60 s", dynamic_loads=loads)}
    (statement,) = build_statements([match("P", "CVE-1")], Evidence(evidence))
    assert "`/app/x.py:3` (`exec` of computed source) ...; none" in statement.status_notes
    assert "/app/x.py:4" not in statement.status_notes
    assert len(statement.evidence["dynamic_loads"]) == 20 and statement.evidence["dynamic_loads_count"] == 21
