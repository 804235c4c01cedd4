"""Every field of a match and of its reason, exactly: what the VEX statement and the report show."""

from builders import vulnerability_match

from vexxy.matching.database import AdvisoryDatabase
from vexxy.matching.matcher import MatchReport, VulnerabilityMatch, match_components
from vexxy.matching.ranges import RangeHit, affected_by
from vexxy.osv.records import parse_osv
from vexxy.sbom.components import Component


def advisory(identifier, affected, aliases=(), summary="", details="", severity=()):
    return parse_osv(
        {
            "id": identifier,
            "modified": "2024-02-03T04:05:06Z",
            "aliases": list(aliases),
            "summary": summary,
            "details": details,
            "severity": list(severity),
            "affected": affected,
        }
    )


def pypi(name, events=(), versions=(), range_type="ECOSYSTEM"):
    entry = {"package": {"ecosystem": "PyPI", "name": name}, "versions": list(versions)}
    if events:
        entry["ranges"] = [{"type": range_type, "events": list(events)}]
    return entry


def component(ref, name, version, ecosystem="PyPI"):
    purl = f"pkg:pypi/{name}@{version}?arch=any"
    return Component(ref, name, version, "python", purl, ecosystem, name, version)


def in_ecosystem(ecosystem):
    """A bare match counted under `ecosystem`."""
    return vulnerability_match(
        "r", "n", "1", purl="pkg:x/n@1", ecosystem=ecosystem, advisory="A", vulnerability="A", summary="", matched="",
        introduced=None, fixed=None,
    )  # fmt: skip


def test_a_match_carries_every_field_of_its_advisory_and_component():
    severity = ({"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},)
    record = advisory(
        "PYSEC-9",
        [pypi("lib", [{"introduced": "1.0"}, {"fixed": "1.5"}])],
        aliases=("GHSA-b", "CVE-2024-2", "CVE-2024-1", "GHSA-b"),
        details="d" * 400,
        severity=severity,
    )
    report = match_components([component("r1", "lib", "1.2")], AdvisoryDatabase([record]))
    (match,) = report.matches
    assert match == VulnerabilityMatch(
        component_ref="r1",
        component_name="lib",
        component_version="1.2",
        purl="pkg:pypi/lib@1.2",
        ecosystem="PyPI",
        advisory_id="PYSEC-9",
        aliases=("CVE-2024-1", "CVE-2024-2", "GHSA-b"),
        vulnerability="CVE-2024-1",
        summary="d" * 299 + "…",
        matched="ECOSYSTEM >= 1.0 < 1.5",
        introduced="1.0",
        fixed="1.5",
        last_affected=None,
        severity=severity,
        modified="2024-02-03T04:05:06Z",
    )
    assert VulnerabilityMatch.from_dict(match.to_dict()) == match
    assert match.key == ("CVE-2024-1", "pkg:pypi/lib@1.2")
    assert (report.components_checked, report.components_without_ecosystem, report.unorderable) == (1, 0, [])


def test_the_summary_wins_over_the_details_and_an_advisory_without_cve_keeps_its_id():
    record = advisory("PYSEC-7", [pypi("lib", versions=["1.2"])], summary="short", details="long")
    (match,) = match_components([component("r1", "lib", "1.2")], AdvisoryDatabase([record])).matches
    assert (match.summary, match.vulnerability, match.aliases, match.matched) == (
        "short",
        "PYSEC-7",
        (),
        "listed in the advisory's affected versions",
    )


def test_one_match_per_advisory_and_component_sorted_and_counted():
    twice = advisory("PYSEC-2", [pypi("lib", versions=["1.2"]), pypi("lib", [{"introduced": "0"}])])
    other = advisory("PYSEC-1", [pypi("lib", [{"introduced": "0"}, {"last_affected": "1.2"}])], aliases=("CVE-2020-9",))
    components = [
        component("r2", "lib", "1.2"),
        component("r1", "lib", "1.1"),
        Component("n", "thing", "1", "binary", "pkg:generic/thing@1", "", "thing", "1"),
        component("u", "lib", "1", ecosystem="Unknown:1"),
    ]
    report = match_components(components, AdvisoryDatabase([twice, other]))
    assert [(m.vulnerability, m.component_ref, m.advisory_id) for m in report.matches] == [
        ("CVE-2020-9", "r1", "PYSEC-1"),
        ("CVE-2020-9", "r2", "PYSEC-1"),
        ("PYSEC-2", "r1", "PYSEC-2"),
        ("PYSEC-2", "r2", "PYSEC-2"),
    ]
    assert report.matches[0].matched == "ECOSYSTEM >= 0 <= 1.2" and report.matches[0].last_affected == "1.2"
    assert (report.components_checked, report.components_without_ecosystem) == (2, 2)


def test_an_unorderable_version_stops_that_component_only():
    records = [advisory(f"PYSEC-{i}", [pypi("lib", [{"introduced": "0"}])]) for i in (1, 2)]
    report = match_components(
        [component("bad", "lib", "not/a/version"), component("ok", "lib", "1.0")], AdvisoryDatabase(records)
    )
    assert len(report.unorderable) == 1 and report.unorderable[0][0] == "pkg:pypi/lib@not/a/version?arch=any"
    assert [m.component_ref for m in report.matches] == ["ok", "ok"]


def test_matches_are_counted_by_ecosystem_family():
    report = MatchReport(
        matches=[in_ecosystem("Debian:12"), in_ecosystem("PyPI"), in_ecosystem("Debian:11"), in_ecosystem("npm")]
    )
    assert report.by_ecosystem() == {"Debian": 2, "PyPI": 1, "npm": 1}
    assert list(report.by_ecosystem()) == ["Debian", "PyPI", "npm"]


def test_the_reason_reads_as_the_range_that_matched():
    assert RangeHit("versions", fixed="2").describe() == "listed in the advisory's affected versions"
    assert RangeHit("SEMVER", "1.0", "1.5").describe() == "SEMVER >= 1.0 < 1.5"
    assert RangeHit("ECOSYSTEM", "0", None, "1.4").describe() == "ECOSYSTEM >= 0 <= 1.4"
    assert RangeHit("ECOSYSTEM", None).describe() == "ECOSYSTEM >= 0 (no fix yet)"
    assert RangeHit("ECOSYSTEM", "2", limit="3").describe() == "ECOSYSTEM >= 2 (no fix yet), < limit 3"
    assert RangeHit("ECOSYSTEM", "2", "2.5", "2.4").describe() == "ECOSYSTEM >= 2 < 2.5"


def test_a_listed_version_reports_the_lowest_fix_above_it():
    affected = parse_osv(
        {
            "id": "T",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "p"},
                    "ranges": [
                        {"type": "GIT", "events": [{"introduced": "0"}, {"fixed": "0.1"}]},
                        {"type": "ECOSYSTEM", "events": [{"introduced": "9"}, {"fixed": "not a version!"}, {"fixed": "1.0"}]},
                        {"type": "ECOSYSTEM", "events": [{"introduced": "8"}, {"fixed": "3.0"}, {"fixed": "2.5"}]},
                    ],
                    "versions": ["2.0", "4.0"],
                }
            ],
        }
    ).affected[0]
    hit = affected_by("PyPI", "2.0", affected)
    assert (hit.kind, hit.fixed) == ("versions", "2.5")
    assert affected_by("PyPI", "4.0", affected).fixed is None  # every fix is below it


def entry(ranges, versions=(), ecosystem="PyPI"):
    return parse_osv(
        {
            "id": "T",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": ecosystem, "name": "p"},
                    "ranges": [{"type": kind, "events": events} for kind, events in ranges],
                    "versions": list(versions),
                }
            ],
        }
    ).affected[0]


def test_introduced_zero_means_every_version_even_below_zero_in_debian_ordering():
    assert affected_by("Debian:12", "0~rc1", entry([("ECOSYSTEM", [{"introduced": "0"}])], ecosystem="Debian:12"))


def test_the_introduced_version_itself_is_affected_and_the_limit_is_reported():
    hit = affected_by("PyPI", "1.0", entry([("ECOSYSTEM", [{"introduced": "1.0"}, {"limit": "3.0"}])]))
    assert (hit.introduced, hit.fixed, hit.limit) == ("1.0", None, "3.0")


def test_a_commit_range_or_an_unreadable_range_does_not_hide_the_next_range():
    commits = ("GIT", [{"introduced": "1000000"}, {"fixed": "2000000"}])  # commit ids that happen to look like versions
    unreadable = ("ECOSYSTEM", [{"introduced": "0"}, {"fixed": "not a version!"}])
    real = ("ECOSYSTEM", [{"introduced": "1.0"}, {"fixed": "2.0"}])
    assert affected_by("PyPI", "1500000", entry([commits])) is None
    assert affected_by("PyPI", "1.5", entry([commits, real])).fixed == "2.0"
    assert affected_by("PyPI", "1.5", entry([unreadable, real])).fixed == "2.0"


def test_an_unreadable_listed_version_matches_nothing():
    assert affected_by("PyPI", "1.0", entry([], versions=["not a version!"])) is None


def test_the_fix_reported_for_a_listed_version_is_above_it_and_skips_commits_and_unreadable_fixes():
    affected = entry(
        [
            ("GIT", [{"introduced": "0"}, {"fixed": "2.1"}]),
            ("ECOSYSTEM", [{"introduced": "9"}, {"fixed": "not a version!"}, {"fixed": "2.3"}, {"fixed": "2.0"}]),
            ("ECOSYSTEM", [{"introduced": "8"}, {"fixed": "2.5"}]),
        ],
        versions=["2.0"],
    )
    assert affected_by("PyPI", "2.0", affected).fixed == "2.3"


def test_a_multi_part_ecosystem_counts_under_its_family():
    assert MatchReport(matches=[in_ecosystem("Ubuntu:Pro:18.04:LTS"), in_ecosystem("Ubuntu:22.04")]).by_ecosystem() == {
        "Ubuntu": 2
    }


def test_an_advisory_seen_for_a_component_does_not_stop_the_next_advisory():
    repeated = advisory("A-1", [pypi("lib", versions=["1.2"]), pypi("lib", [{"introduced": "0"}])])
    later = advisory("Z-9", [pypi("lib", [{"introduced": "0"}])])
    report = match_components([component("r", "lib", "1.2")], AdvisoryDatabase([repeated, later]))
    assert [m.advisory_id for m in report.matches] == ["A-1", "Z-9"]


def test_the_lowest_fix_is_chosen_by_version_not_by_spelling():
    affected = entry([("ECOSYSTEM", [{"introduced": "3"}, {"fixed": "2.10"}, {"fixed": "2.9"}])], versions=["2.0"])
    assert affected_by("PyPI", "2.0", affected).fixed == "2.9"
