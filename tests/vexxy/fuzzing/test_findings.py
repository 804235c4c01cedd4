"""One findings schema, Wapiti's report parsed, scope kept, SARIF valid."""

from vexxy.fuzzing.findings import Finding, FuzzReport, keep_in_scope, normalize_risk
from vexxy.fuzzing.sarif import sarif_errors, to_sarif
from vexxy.fuzzing.wapiti import parse_report

REPORT = {
    "infos": {"version": "Wapiti 3.2.3", "target": "http://10.214.0.2:8080/"},
    "classifications": {
        "SQL Injection": {
            "desc": "SQL injection",
            "sol": "Use parameters.",
            "ref": {"CWE-89: Improper Neutralization": "https://cwe.mitre.org/data/definitions/89.html"},
        },
        "Internal Server Error": {"desc": "500", "sol": "", "ref": {}},
    },
    "vulnerabilities": {
        "SQL Injection": [
            {
                "method": "GET",
                "path": "/item",
                "info": "SQL Injection (DBMS: SQLite) via injection in the parameter id",
                "level": 4,
                "parameter": "id",
                "module": "sql",
                "http_request": "GET /item?id=2%27 HTTP/1.1\nhost: 10.214.0.2:8080",
            }
        ]
    },
    "anomalies": {
        "Internal Server Error": [
            {
                "method": "GET",
                "path": "/item",
                "info": "500",
                "level": 3,
                "parameter": "id",
                "module": "xss",
                "http_request": "GET /item?id=%3C HTTP/1.1",
            }
        ]
    },
}


def test_wapiti_report_is_normalized():
    findings, version = parse_report(REPORT, "http://10.214.0.2:8080/")
    assert version == "3.2.3"
    sql, anomaly = findings
    assert (sql.rule_id, sql.cwe, sql.wasc, sql.risk, sql.url, sql.attack) == (
        "wapiti.sql",
        89,
        19,
        "high",
        "http://10.214.0.2:8080/item",
        "/item?id=2%27",
    )
    assert sql.solution == "Use parameters." and sql.tool == "wapiti"
    assert (anomaly.rule_id, anomaly.cwe, anomaly.wasc, anomaly.confidence) == ("wapiti.anomaly.xss", None, None, "low")


def test_findings_about_other_hosts_are_dropped():
    def finding(url):
        return Finding("r", "n", "low", "low", "GET", url, "", "", "", "t", "1")

    kept, dropped = keep_in_scope(
        [finding("http://10.214.0.2:8080/a"), finding("http://203.0.113.7/x"), finding("http://10.214.0.2.evil/")], {"10.214.0.2"}
    )
    assert [f.url for f in kept] == ["http://10.214.0.2:8080/a"] and dropped == 2


def test_risk_normalization():
    assert [normalize_risk(v) for v in ("High", 4, 3, "Medium", 2, "Low", 1, "Informational", 0)] == ["high"] * 3 + [
        "medium"
    ] * 2 + ["low"] * 2 + ["info"] * 2


def test_sarif_of_findings_and_of_a_skipped_scan_validate():
    findings, _ = parse_report(REPORT, "http://10.214.0.2:8080/")
    report = FuzzReport("completed", tool="wapiti", tool_version="3.2.3", targets=["http://10.214.0.2:8080/"], findings=findings)
    sarif = to_sarif(report)
    assert sarif_errors(sarif) == []
    run = sarif["runs"][0]
    assert run["tool"]["driver"]["name"] == "wapiti" and {r["id"] for r in run["tool"]["driver"]["rules"]} == {
        "wapiti.sql",
        "wapiti.anomaly.xss",
    }
    assert run["results"][0]["level"] == "error" and run["results"][0]["properties"]["cwe"] == "CWE-89"
    assert "external/cwe/cwe-89" in run["tool"]["driver"]["rules"][0]["properties"]["tags"]
    assert sarif_errors(to_sarif(FuzzReport.skipped("no HTTP port"))) == []
    broken = to_sarif(report)
    broken["runs"][0]["results"][0]["level"] = "catastrophic"
    assert sarif_errors(broken)


def test_the_headline_says_the_status_once():
    assert FuzzReport.skipped("no HTTP port").headline() == "skipped: no HTTP port"
    assert FuzzReport.skipped("skipped: no HTTP port").headline() == "skipped: no HTTP port"
    assert FuzzReport("failed", reason="Failed: ZAP did not answer").headline() == "failed: ZAP did not answer"
    assert FuzzReport("completed").headline() == "completed"
