"""Each decision's full statement, word for word: the notes, confidence, actions and evidence users read."""

from builders import vulnerability_match

from vexxy.vex.statements import ComponentEvidence, NoRuntimeEvidence, Status, build_statements

P = "sha256:" + "p" * 64


def match(ref, fixed="5.4", summary="summary", advisory="PYSEC-1"):
    return vulnerability_match(ref, ref, "1", advisory=advisory, summary=summary, matched="ECOSYSTEM >= 0 < 5.4", fixed=fixed)


class Evidence:
    def __init__(self, **by_ref):
        self.by_ref = by_ref

    def for_component(self, ref):
        return self.by_ref.get(ref)


def one(matches, evidence):
    (statement,) = build_statements(matches, evidence)
    return statement


def test_no_runtime_evidence():
    statement = one([match("a", fixed=None, summary="")], NoRuntimeEvidence())
    assert statement.to_dict() == {
        "vulnerability": "CVE-1",
        "aliases": ("PYSEC-1",),
        "advisory_ids": ("PYSEC-1",),
        "description": "",
        "component_purl": "pkg:pypi/a@1",
        "component_ref": "a",
        "status": "under_investigation",
        "justification": None,
        "impact_statement": None,
        "action_statement": None,
        "status_notes": "No runtime evidence yet: the image has not been observed in the sandbox.",
        "confidence": "low",
        "fixed_versions": (),
        "evidence": {"runtime_evidence": "none", "matched": ["PYSEC-1: ECOSYSTEM >= 0 < 5.4"]},
        "confidence_reason": "no_runtime_evidence",
    }


def test_loaded_files_make_it_affected_with_the_first_five_shown():
    files = tuple(f"/f{i}.py" for i in range(25))
    evidence = Evidence(a=ComponentEvidence(30, files, True, P, "60 s"))
    statement = one([match("a", fixed="5.4"), match("a", fixed="5.5", advisory="GHSA-2", summary="")], evidence)
    assert (statement.status, statement.confidence, statement.confidence_reason) == (Status.AFFECTED, "high", "loaded")
    assert statement.action_statement == "The vulnerable component is loaded at runtime. Upgrade to 5.4 or 5.5 or later."
    assert statement.status_notes == (
        f"25 of the component's 30 files were loaded during observation (/f0.py, /f1.py, /f2.py, /f3.py, /f4.py ...); "
        f"profile {P}, window 60 s."
    )
    assert statement.description == "summary" and statement.fixed_versions == ("5.4", "5.5")
    assert (statement.justification, statement.impact_statement) == (None, None)
    assert statement.evidence == {
        "profile_digest": P,
        "observation_window": "60 s",
        "profile_complete": True,
        "files_known": 30,
        "files_loaded": list(files[:20]),
        "files_loaded_count": 25,
        "matched": ["GHSA-2: ECOSYSTEM >= 0 < 5.4", "PYSEC-1: ECOSYSTEM >= 0 < 5.4"],
    }


def test_five_loaded_files_are_all_shown_and_an_unknown_file_count_is_said():
    five = tuple(f"/f{i}.py" for i in range(5))
    statement = one([match("a", fixed=None)], Evidence(a=ComponentEvidence(0, five, False, P, "9 s")))
    assert statement.status_notes == (
        "5 of the component's unknown number of files were loaded during observation "
        f"(/f0.py, /f1.py, /f2.py, /f3.py, /f4.py); profile {P}, window 9 s."
    )
    assert statement.action_statement == (
        "The vulnerable component is loaded at runtime. No fixed release is known; remove the package or mitigate."
    )


def test_unknown_files_partial_profiles_and_a_complete_observation():
    evidence = Evidence(
        u=ComponentEvidence(0, (), True, P, "60 s"),
        p=ComponentEvidence(4, (), False, P, "20 s"),
        n=ComponentEvidence(4, (), True, P, "60 s"),
    )
    by_ref = {s.component_ref: s for s in build_statements([match("u"), match("p"), match("n")], evidence)}
    unknown, partial, unseen = by_ref["u"], by_ref["p"], by_ref["n"]
    assert (unknown.status, unknown.confidence, unknown.action_statement) == (Status.UNDER_INVESTIGATION, "low", None)
    assert unknown.confidence_reason == "unknown_files" and partial.confidence_reason == "incomplete_profile"
    assert (
        unknown.status_notes == "The SBOM lists no files for this component, so runtime evidence cannot show whether it is used."
    )
    assert (partial.status, partial.confidence) == (Status.UNDER_INVESTIGATION, "medium")
    assert partial.status_notes == (
        f"None of the component's 4 files was seen, but the profile is incomplete (reason not recorded); profile {P}."
    )
    assert (unseen.status, unseen.justification, unseen.confidence, unseen.confidence_reason) == (
        Status.NOT_AFFECTED,
        "vulnerable_code_not_in_execute_path",
        "medium",
        "not_loaded_imports_unchecked",
    )
    assert (unseen.impact_statement, unseen.action_statement) == (None, None)
    assert unseen.status_notes == (
        f"None of the component's 4 files was opened or executed during a complete observation (60 s); profile {P}."
        " First-party imports not checked: not analyzed."
    )
    assert unseen.evidence["files_loaded"] == [] and unseen.evidence["profile_complete"] is True


def test_six_loaded_files_show_five_and_say_there_are_more():
    six = tuple(f"/f{i}.py" for i in range(6))
    statement = one([match("a")], Evidence(a=ComponentEvidence(6, six, True, P, "1 s")))
    assert "(/f0.py, /f1.py, /f2.py, /f3.py, /f4.py ...)" in statement.status_notes


def test_not_loaded_and_not_imported_is_high_confidence_only_when_the_imports_were_read():
    checked = ComponentEvidence(4, (), True, P, "60 s", imports_checked=True)
    unread = ComponentEvidence(4, (), True, P, "60 s", imports_note="2 first-party files unreadable")
    by_ref = {s.component_ref: s for s in build_statements([match("c"), match("u")], Evidence(c=checked, u=unread))}
    assert (by_ref["c"].status, by_ref["c"].confidence, by_ref["c"].confidence_reason) == (
        Status.NOT_AFFECTED,
        "high",
        "not_loaded_not_imported",
    )
    assert by_ref["c"].status_notes.endswith("; profile " + P + ". No first-party code imports it.")
    assert (by_ref["u"].status, by_ref["u"].confidence, by_ref["u"].confidence_reason) == (
        Status.NOT_AFFECTED,
        "medium",
        "not_loaded_imports_unchecked",
    )
    assert by_ref["u"].status_notes.endswith(" First-party imports not checked: 2 first-party files unreadable.")
