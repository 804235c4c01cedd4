"""Explanations of an affected, a not_affected and an under_investigation statement, from stored documents."""

import pytest
from audit_documents import PROFILE_DIGEST, PROVENANCE, SITE, documents

from vexxy.audit.explain import explain, explain_all, explanation_lines, valid_vulnerability_id


def rows(answer) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for label, text in explanation_lines(answer):
        grouped.setdefault(label, []).append(text)
    return grouped


def test_affected_cites_the_range_the_files_loaded_and_when():
    (answer,) = explain("CVE-2020-28493", documents(), PROVENANCE)
    assert answer.status == "affected" and answer.confidence == "high"
    assert answer.matched == [
        {
            "advisory_id": "PYSEC-2021-66",
            "ecosystem": "PyPI",
            "matched": "introduced 0, fixed 9.9 (2.11.2 in range)",
            "introduced": "0",
            "fixed": "9.9",
            "last_affected": None,
            "modified": "",
        }
    ]
    assert answer.files == [f"{SITE}/jinja2/__init__.py", f"{SITE}/jinja2/lexer.py", f"{SITE}/jinja2/utils.py"]
    loaded = [(f.path, f.first_seen, f.count, f.phase, f.observed_as) for f in answer.loaded]
    assert loaded == [  # earliest first; a .pyc counts as its source and says how it was opened
        (f"{SITE}/jinja2/__init__.py", 1.0, 1, "idle", f"{SITE}/jinja2/__init__.py"),
        (f"{SITE}/jinja2/lexer.py", 1.25, 3, "idle", f"{SITE}/jinja2/__pycache__/lexer.cpython-311.pyc"),
        (f"{SITE}/jinja2/utils.py", 7.5, 2, "fuzzing", f"{SITE}/jinja2/utils.py"),
    ]
    text = rows(answer)
    assert text["status"] == ["affected"] and "Upgrade to 9.9" in text["action"][0]
    assert text["confidence"] == ["high (loaded)"]
    assert text["matched"] == ["PYSEC-2021-66 (PyPI): introduced 0, fixed 9.9 (2.11.2 in range)"]
    assert (
        f"{SITE}/jinja2/lexer.py at +1.25 s, 3x, idle (opened as {SITE}/jinja2/__pycache__/lexer.cpython-311.pyc)"
        in (text["loaded"])
    )
    assert text["profile"] == [f"{PROFILE_DIGEST}: complete, 20 s of 60 s, ended by quiet"]
    assert text["run"] == [f"{PROVENANCE['run_id']} (analyze_image) at 2026-11-30T22:00:00+00:00"]
    assert text["advisories"] == ["snapshot " + "d" * 64]
    assert text["input"] == [f"execution_profile from run {PROVENANCE['run_id']} at 2026-11-30T21:59:40+00:00"]


def test_not_affected_lists_the_files_none_of_which_was_loaded():
    (answer,) = explain("cve-2020-14343", documents())  # ids are matched whatever their case
    assert (answer.status, answer.justification) == ("not_affected", "vulnerable_code_not_in_execute_path")
    assert answer.files_known == 2 and answer.loaded == []
    assert answer.files == [f"{SITE}/yaml/__init__.py", f"{SITE}/yaml/constructor.py"]
    text = rows(answer)
    assert text["loaded"] == ["none of the component's files"]
    assert text["confidence"] == ["high (not_loaded_not_imported)"]
    assert text["component files"] == ["2 known to the SBOM, 2 listed"]
    assert "run" not in text  # no provenance given, none invented


def test_matches_stored_without_their_files_are_explained_from_the_sbom():
    assert explain("CVE-2020-14343", documents(files_in_matches=False)) == explain("CVE-2020-14343", documents())


def test_every_statement_at_once_is_every_statement_one_by_one():
    docs = documents()
    one_by_one = [a for name in ("CVE-2020-14343", "CVE-2020-28493", "CVE-2022-37434") for a in explain(name, docs)]
    assert explain_all(docs) == one_by_one


def test_under_investigation_says_which_evidence_is_missing():
    (unknown,) = explain("CVE-2022-37434", documents())
    assert unknown.status == "under_investigation" and unknown.confidence == "low"
    assert unknown.files_known == 0 and unknown.files == [] and "lists no files" in unknown.status_notes
    (incomplete,) = explain("CVE-2020-14343", documents(complete=False))
    assert incomplete.status == "under_investigation" and incomplete.confidence == "medium"
    assert rows(incomplete)["profile"] == [
        f"{PROFILE_DIGEST}: incomplete (workload exited after 3 s), 20 s of 60 s, ended by quiet"
    ]


def test_an_alias_finds_the_statement_and_an_unknown_id_finds_none():
    assert [a.vulnerability for a in explain("PYSEC-2021-66", documents())] == ["CVE-2020-28493"]
    assert explain("CVE-1999-0001", documents()) == []


@pytest.mark.parametrize(
    "text", ["CVE-2020-28493", "GHSA-h5c8-rqwp-cp95", "PYSEC-2021-66", "DEBIAN-CVE-2022-37434", "GO-2023-1234"]
)
def test_real_identifiers_are_valid(text):
    assert valid_vulnerability_id(text)


@pytest.mark.parametrize(
    "text", ["", "CVE", "../../etc/passwd", "CVE-2020-1/../x", "CVE-2020 1", "CVE-\x00", "A-" + "1" * 200, "-CVE-1"]
)
def test_anything_else_is_not_an_identifier(text):
    assert not valid_vulnerability_id(text)
