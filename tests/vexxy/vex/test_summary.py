"""The statements at a glance: severity from CVSS vectors, the rows, the `--fail-on` gate and the SARIF of
what is still open."""

import pytest

from vexxy.fuzzing.sarif import SARIF_SCHEMA_URI, sarif_errors
from vexxy.vex.sarif import to_sarif
from vexxy.vex.severity import base_score, severity_of
from vexxy.vex.statements import NOT_IN_EXECUTE_PATH, Statement, Status
from vexxy.vex.summary import FAIL_ON_CHOICES, FAIL_ON_EXIT_CODE, failing, package_of, rows


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N", 8.1),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5),
        ("CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
    ],
)
def test_cvss3_base_scores_match_the_specification(vector, score):
    assert base_score("CVSS_V3", vector) == score


def test_cvss4_vectors_are_scored_too():
    vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    assert base_score("CVSS_V4", vector) == 9.3
    assert str(severity_of([{"type": "CVSS_V4", "score": vector}])) == "critical (9.3)"


def test_unreadable_vectors_have_no_score_and_the_highest_entry_wins():
    assert base_score("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P") is None  # CVSS v2 is not scored
    assert base_score("CVSS_V3", "AV:N/AC:L/Au:N/C:P/I:P/A:P") is None
    assert base_score("CVSS_V3", "CVSS:3.1/AV:N/AC:L") is None
    assert severity_of([{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N"}]) is None
    both = [
        {"type": "Ubuntu", "score": "medium"},
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"},
    ]
    assert str(severity_of(both)) == "high (7.5)"
    assert str(severity_of([{"type": "Ubuntu", "score": "Medium"}])) == "medium"


def statement(vulnerability, purl, status, justification=None):
    return Statement(
        vulnerability=vulnerability,
        aliases=(),
        advisory_ids=(vulnerability,),
        description=f"{vulnerability} description",
        component_purl=purl,
        component_ref=purl,
        status=status,
        justification=justification,
        impact_statement=None,
        action_statement="Upgrade." if status is Status.AFFECTED else None,
        status_notes=f"notes on {vulnerability}",
        confidence="high",
    ).to_dict()


JINJA = "pkg:pypi/jinja2@2.11.2"
PYYAML = "pkg:pypi/pyyaml@5.3.1"
OPENSSL = "pkg:deb/debian/openssl@3.0.11?arch=amd64"
STATEMENTS = [
    statement("CVE-2020-14343", PYYAML, Status.NOT_AFFECTED, NOT_IN_EXECUTE_PATH),
    statement("CVE-2020-28493", JINJA, Status.AFFECTED),
    statement("CVE-2023-0001", OPENSSL, Status.UNDER_INVESTIGATION),
]
CRITICAL = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
HIGH = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}]
MATCHES = [
    {"vulnerability": "CVE-2020-28493", "purl": JINJA, "severity": []},
    {"vulnerability": "CVE-2020-14343", "purl": PYYAML, "severity": CRITICAL},
    {"vulnerability": "CVE-2023-0001", "purl": OPENSSL, "severity": HIGH},
]


def test_rows_name_the_package_and_put_open_statements_first():
    table = rows(STATEMENTS, MATCHES)
    assert [(r.vulnerability, r.package, r.status) for r in table] == [
        ("CVE-2020-28493", "jinja2@2.11.2", "affected"),
        ("CVE-2023-0001", "debian/openssl@3.0.11", "under_investigation"),
        ("CVE-2020-14343", "pyyaml@5.3.1", "not_affected"),
    ]
    assert table[0].severity is None and table[1].severity.level == "high" and table[2].severity.level == "critical"
    assert table[2].justification == NOT_IN_EXECUTE_PATH and table[0].justification == ""
    assert package_of("not a purl") == "not a purl"


def test_fail_on_a_status_or_an_open_statement_at_least_that_severe():
    table = rows(STATEMENTS, MATCHES)
    assert [r.vulnerability for r in failing(table, "affected")] == ["CVE-2020-28493"]
    assert [r.vulnerability for r in failing(table, "under_investigation")] == ["CVE-2023-0001"]
    assert failing(table, "fixed") == []
    assert [r.vulnerability for r in failing(table, "high")] == ["CVE-2023-0001"]
    assert [r.vulnerability for r in failing(table, "medium")] == ["CVE-2023-0001"]
    # The critical one is not affected: it does not fail the gate; the affected one has no known severity.
    assert failing(table, "critical") == []
    assert failing(rows(STATEMENTS[:1], MATCHES), "low") == []
    with pytest.raises(ValueError, match="not one of"):
        failing(table, "severe")
    assert {"affected", "under_investigation", "high", "critical"} <= set(FAIL_ON_CHOICES)
    assert FAIL_ON_EXIT_CODE not in (0, 1, 2, 130)


def test_sarif_holds_the_open_statements_and_validates():
    document = to_sarif(rows(STATEMENTS, MATCHES), STATEMENTS, image="127.0.0.1:5000/demo/app:1.0", tool_version="0.1.0")
    assert sarif_errors(document) == [] and document["$schema"] == SARIF_SCHEMA_URI
    results = document["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("CVE-2020-28493", "error"), ("CVE-2023-0001", "warning")]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == JINJA
    assert results[0]["properties"]["action"] == "Upgrade." and "notes on CVE-2020-28493" in results[0]["message"]["text"]
    rules = {r["id"]: r for r in document["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["CVE-2023-0001"]["properties"]["security-severity"] == "7.5"
    assert "security-severity" not in rules["CVE-2020-28493"]["properties"]
    empty = to_sarif(rows(STATEMENTS[:1], MATCHES), STATEMENTS, image="i", tool_version="0.1.0")
    assert sarif_errors(empty) == [] and empty["runs"][0]["results"] == []
    broken = {**document, "version": "2.0"}
    assert sarif_errors(broken) != []
