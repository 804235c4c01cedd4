"""Ranks on a package's pre-sorted bounds answer exactly what ranges evaluated on parsed versions answer."""

import sys
from pathlib import Path

import pytest

from vexxy.matching.database import AdvisoryDatabase
from vexxy.matching.index import AdvisoryIndex, build_index
from vexxy.matching.matcher import match_components
from vexxy.matching.ranges import affected_by
from vexxy.matching.ranks import RankedVersion, bounds, order_classes
from vexxy.matching.versions import UnorderableVersion
from vexxy.osv.loader import LoadReport, iter_advisories
from vexxy.osv.records import parse_osv
from vexxy.sbom.components import Component

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import osv_corpus  # noqa: E402


def osv(advisory_id: str, ecosystem: str, name: str, *ranges, versions=()) -> dict:
    return {
        "id": advisory_id,
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": kind, "events": [dict([e]) for e in events]} for kind, events in ranges],
                "versions": list(versions),
            }
        ],
    }


# Shapes where orderings are subtle: equal versions written differently, epochs and tildes, limits,
# unsorted and repeated events, last_affected, bounds no ordering parses, SEMVER ranges on a
# non-semver ecosystem, semver build metadata (neither before nor after, yet not equal),
# v-prefixed Go versions, GIT ranges beside ECOSYSTEM ones, Alpine's -rN, listed versions.
EDGE_CASES = [
    osv("E-1", "PyPI", "lib", ("ECOSYSTEM", [("introduced", "0"), ("fixed", "1.0")])),
    osv("E-2", "PyPI", "lib", ("ECOSYSTEM", [("introduced", "1.0.0"), ("last_affected", "1.2.0")])),
    osv("E-3", "PyPI", "lib", ("ECOSYSTEM", [("fixed", "2.0"), ("introduced", "1.5"), ("introduced", "0.5"), ("fixed", "1.0")])),
    osv("E-4", "PyPI", "lib", ("ECOSYSTEM", [("introduced", "0"), ("limit", "1.1")]), ("ECOSYSTEM", [("introduced", "3")])),
    osv(
        "E-5",
        "PyPI",
        "lib",
        ("ECOSYSTEM", [("introduced", "0"), ("fixed", "not a version!")]),
        versions=["0.9", "1.0.post1", "x!y"],
    ),
    osv("E-6", "PyPI", "lib", ("SEMVER", [("introduced", "1.0.0"), ("fixed", "1.2.0-rc.1")])),
    osv("E-7", "PyPI", "lib", ("GIT", [("introduced", "abc123")]), ("ECOSYSTEM", [("introduced", "1.0a1"), ("fixed", "1.0")])),
    osv("E-8", "PyPI", "lib", ("ECOSYSTEM", [("introduced", "1.0"), ("fixed", "1.0.0")]), versions=["1.0.0", "1.1"]),
    osv("E-9", "Debian:12", "glibc", ("ECOSYSTEM", [("introduced", "0"), ("fixed", "2.36-9+deb12u4")])),
    osv("E-10", "Debian:12", "glibc", ("ECOSYSTEM", [("introduced", "1:2.0-1"), ("fixed", "1:2.0~rc1-1")])),
    osv("E-11", "Debian:12", "glibc", ("ECOSYSTEM", [("introduced", "2.36~1-1"), ("last_affected", "2.36-9")])),
    osv("E-12", "Go", "example.com/mod", ("SEMVER", [("introduced", "0"), ("fixed", "1.4.0")])),
    osv("E-13", "Go", "example.com/mod", ("SEMVER", [("introduced", "1.2.0-beta"), ("fixed", "1.2.0"), ("introduced", "2.0.0")])),
    osv("E-14", "npm", "@scope/pkg", ("SEMVER", [("introduced", "0"), ("fixed", "1.0.0-beta.2")]), versions=["1.0.0"]),
    osv("E-15", "Alpine:v3.19", "openssl", ("ECOSYSTEM", [("introduced", "0"), ("fixed", "3.1.4-r1")])),
    osv("E-16", "Maven", "org.example:lib", ("ECOSYSTEM", [("introduced", "1.0"), ("fixed", "1.0.1.RELEASE")])),
    osv("E-17", "RubyGems", "rack", ("ECOSYSTEM", [("introduced", "0"), ("fixed", "2.2.6.2")]), versions=["2.2.6.1"]),
    osv("E-18", "npm", "@scope/pkg", ("SEMVER", [("introduced", "1.0.0+meta"), ("fixed", "1.1.0")]), versions=["1.2.0+build.1"]),
    # SEMVER on Debian: 1.0.0-1 is a pre-release of 1.0.0 in semver, a later revision in Debian's ordering.
    osv("E-19", "Debian:12", "semverpkg", ("SEMVER", [("introduced", "1.0.0-1"), ("fixed", "1.0.0")])),
    # A GIT range alone (commits, not versions) affects no version, even from "0".
    osv("E-20", "PyPI", "gitonly", ("GIT", [("introduced", "0")])),
    # A range whose bound no ordering parses, then one that holds the version: the second still counts.
    osv(
        "E-21",
        "PyPI",
        "later",
        ("ECOSYSTEM", [("introduced", "0"), ("fixed", "not a version!")]),
        ("ECOSYSTEM", [("introduced", "1.0"), ("fixed", "2.0")]),
    ),
]
PROBES = [
    "0",
    "0.0.1",
    "0.9",
    "1",
    "1.0",
    "1.0.0",
    "1.0.0-beta.2",
    "1.0rc1",
    "1.1.0",
    "1.2",
    "2.99",
    "999.0",
    "x!y",
    "v1.3.0",
    "1.0.0+build.1",
    "1.2.0+build.2",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """OSV-shaped records over nine ecosystems (the benchmark's generator) plus the edge cases."""
    folder = tmp_path_factory.mktemp("ranks")
    osv_corpus.write_corpus(3000, folder / "corpus")
    advisories = list(iter_advisories(str(folder / "corpus"), LoadReport())) + [parse_osv(record) for record in EDGE_CASES]
    build_index(iter(advisories), folder / "osv.sqlite", folder / "osv.jsonl.gz")
    index = AdvisoryIndex(folder / "osv.sqlite")
    yield AdvisoryDatabase(advisories), index
    index.close()


def components_for(database: AdvisoryDatabase) -> list[Component]:
    """For every package: each version its advisories name, the probes, and a version no ordering parses."""
    components = []
    packages = {(a.ecosystem, a.name): set() for advisory in database.advisories for a in advisory.affected}
    for advisory in database.advisories:
        for affected in advisory.affected:
            packages[(affected.ecosystem, affected.name)].update(version for _scale, version in bounds(affected))
    for (ecosystem, name), versions in sorted(packages.items()):
        for version in sorted(versions | set(PROBES) | {"?bad version?"}):
            ref = str(len(components))
            components.append(Component(ref, name, version, "generic", f"pkg:generic/{name}@{version}", ecosystem, name, version))
    return components


def test_the_index_matches_like_parsed_versions_over_every_ecosystem(corpus):
    database, index = corpus
    components = components_for(database)
    assert len(components) > 20000 and len({c.ecosystem.split(":")[0] for c in components}) == 9
    expected, actual = match_components(components, database), match_components(components, index)
    assert actual.matches == expected.matches and len(expected.matches) > 5000
    assert actual.unorderable == expected.unorderable and len(expected.unorderable) > 100
    assert {m.matched.split(" ")[0] for m in expected.matches} >= {"ECOSYSTEM", "SEMVER", "listed"}


def test_each_edge_case_entry_alone_answers_like_parsed_versions(corpus):
    """Entry by entry (not only the first hit per component): hits, fixes, limits and unorderable versions."""
    _database, index = corpus
    compared = 0
    for record in EDGE_CASES:
        (affected,) = parse_osv(record).affected
        for version in sorted({v for _s, v in bounds(affected)} | set(PROBES)):
            ranked = index.evaluator(affected.ecosystem, affected.name, version)
            try:
                expected = affected_by(affected.ecosystem, version, affected)
            except UnorderableVersion:
                with pytest.raises(UnorderableVersion):
                    ranked(affected)
                continue
            assert ranked(affected) == expected, (record["id"], version)
            compared += 1
    assert compared > 150


def test_equal_versions_written_differently_share_a_class_and_unparsable_ones_are_left_out():
    assert order_classes("PyPI", "ECOSYSTEM", ["1.0.0", "0.9", "1.0", "nope!", "1.0.post1"]) == [
        ["0.9"],
        ["1.0.0", "1.0"],
        ["1.0.post1"],
    ]
    assert order_classes("Debian:12", "ECOSYSTEM", ["2.0-1", "1:1.0-1", "2.0~rc1-1"]) == [["2.0~rc1-1"], ["2.0-1"], ["1:1.0-1"]]
    ranked = RankedVersion("PyPI", "1.0", {"ECOSYSTEM": [["0.9"], ["1.0.0", "1.0"]]})
    assert ranked.key("ECOSYSTEM") == 2
    assert RankedVersion("PyPI", "0.95", {"ECOSYSTEM": [["0.9"], ["1.0"]]}).key("ECOSYSTEM") == 1
    assert RankedVersion("PyPI", "0.1", {"ECOSYSTEM": [["0.9"]]}).key("ECOSYSTEM") == -1
    with pytest.raises(UnorderableVersion):
        RankedVersion("PyPI", "?", {}).key("ECOSYSTEM")
