"""OSV range semantics: introduced/fixed/last_affected/limit events and the `versions` list."""

import yaml

from vexxy import settings
from vexxy.matching.ranges import affected_by
from vexxy.osv.records import parse_osv

PYPA = settings.BUNDLED_OSV / "pypa"


def record(name: str):
    path = next(PYPA.glob(f"*/{name}.yaml"))
    return parse_osv(yaml.safe_load(path.read_text()))


def synthetic(events, versions=(), ecosystem="PyPI", range_type="ECOSYSTEM"):
    return parse_osv(
        {
            "id": "TEST-1",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": ecosystem, "name": "pkg"},
                    "ranges": [{"type": range_type, "events": events}],
                    "versions": list(versions),
                }
            ],
        }
    ).affected[0]


def test_real_record_with_ranges_and_versions():
    pyyaml = record("PYSEC-2021-142").affected[0]  # ranges: introduced 0, fixed 5.4; plus a versions list
    hit = affected_by("PyPI", "5.3.1", pyyaml)
    assert hit and hit.kind == "ECOSYSTEM" and hit.fixed == "5.4"
    assert affected_by("PyPI", "5.4", pyyaml) is None
    assert affected_by("PyPI", "6.0", pyyaml) is None
    assert affected_by("PyPI", "5.4b2", pyyaml) is not None  # pre-release of the fix is still affected


def test_versions_list_alone_matches_when_ranges_do_not():
    affected = synthetic([{"introduced": "2.0"}, {"fixed": "2.1"}], versions=["1.5"])
    hit = affected_by("PyPI", "1.5", affected)
    assert hit and hit.kind == "versions"
    assert affected_by("PyPI", "1.6", affected) is None
    assert affected_by("PyPI", "2.0.1", affected).kind == "ECOSYSTEM"


def test_last_affected_is_inclusive():
    py = record("PYSEC-2022-42969").affected[0]  # last_affected 1.11.0
    hit = affected_by("PyPI", "1.11.0", py)
    assert hit and hit.last_affected == "1.11.0" and hit.fixed is None
    assert affected_by("PyPI", "1.11.1", synthetic([{"introduced": "0"}, {"last_affected": "1.11.0"}])) is None


def test_multiple_introduced_fixed_pairs():
    affected = synthetic([{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.0.3"}])
    assert affected_by("PyPI", "0.9", affected) is None
    assert affected_by("PyPI", "1.1", affected).fixed == "1.2"
    assert affected_by("PyPI", "1.5", affected) is None
    hit = affected_by("PyPI", "2.0.1", affected)
    assert hit.introduced == "2.0" and hit.fixed == "2.0.3"
    assert affected_by("PyPI", "2.0.3", affected) is None


def test_events_are_ordered_by_version_not_by_position():
    affected = synthetic([{"fixed": "1.2"}, {"introduced": "1.0"}])
    assert affected_by("PyPI", "1.1", affected) is not None
    assert affected_by("PyPI", "1.3", affected) is None


def test_limit_caps_the_range():
    affected = synthetic([{"introduced": "0"}, {"limit": "3.0"}])
    assert affected_by("PyPI", "2.9", affected) is not None
    assert affected_by("PyPI", "3.0", affected) is None


def test_open_ended_range_has_no_fix():
    hit = affected_by("Debian:12", "2.36-9+deb12u14", synthetic([{"introduced": "0"}], ecosystem="Debian:12"))
    assert hit and hit.fixed is None and "no fix yet" in hit.describe()


def test_semver_range_and_debian_ordering():
    npm = synthetic([{"introduced": "1.0.0-beta.1"}, {"fixed": "1.0.0"}], ecosystem="npm", range_type="SEMVER")
    assert affected_by("npm", "1.0.0-rc.1", npm) is not None
    assert affected_by("npm", "1.0.0", npm) is None
    deb = synthetic([{"introduced": "0"}, {"fixed": "2.36-9+deb12u7"}], ecosystem="Debian:12")
    assert affected_by("Debian:12", "2.36-9+deb12u4", deb).fixed == "2.36-9+deb12u7"
    assert affected_by("Debian:12", "2.36-9+deb12u14", deb) is None


def test_git_ranges_are_not_evaluated_against_package_versions():
    affected = synthetic([{"introduced": "abc123"}, {"fixed": "def456"}], range_type="GIT")
    assert affected_by("PyPI", "1.0", affected) is None


def test_go_advisories_with_semver_ranges_order_the_module_version_as_semver():
    """OSV publishes Go advisories with SEMVER ranges; Go module versions carry a `v`."""
    go = synthetic([{"introduced": "0"}, {"fixed": "1.2.3"}], versions=["v1.0.0"], ecosystem="Go", range_type="SEMVER")
    assert affected_by("Go", "v1.2.2", go).fixed == "1.2.3"
    assert affected_by("Go", "v1.2.3", go) is None
    listed = synthetic([{"introduced": "2.0.0"}, {"fixed": "2.1.0"}], versions=["v1.0.0"], ecosystem="Go", range_type="SEMVER")
    assert (affected_by("Go", "v1.0.0", listed).kind, affected_by("Go", "v1.0.0", listed).fixed) == ("versions", "2.1.0")


def test_alpine_fixed_in_a_later_release_with_more_digits():
    """3.1.9-r0 is before 3.1.10-r0 (as strings it would sort after, and be taken as fixed)."""
    apk = synthetic([{"introduced": "0"}, {"fixed": "3.1.10-r0"}], ecosystem="Alpine:v3.19")
    assert affected_by("Alpine:v3.19", "3.1.9-r0", apk).fixed == "3.1.10-r0"
    assert affected_by("Alpine:v3.19", "3.1.10-r0", apk) is None


def test_a_listed_version_takes_its_fix_from_the_ranges_that_can_order_it():
    """A range whose type cannot order the component's version (`1.0.0-01` is PyPI's 1.0.0.post1, not
    semver) is passed over, and the fix comes from the ranges that can, bounds that parse, the lowest above."""
    entry = parse_osv(
        {
            "id": "TEST-2",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "pkg"},
                    "ranges": [
                        {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.5"}]},
                        {
                            "type": "ECOSYSTEM",
                            "events": [{"introduced": "5.0"}, {"fixed": "not a version"}, {"fixed": "6.1"}, {"fixed": "6.0"}],
                        },
                    ],
                    "versions": ["1.0.0-01"],
                }
            ],
        }
    ).affected[0]
    hit = affected_by("PyPI", "1.0.0-01", entry)
    assert hit and hit.kind == "versions" and hit.fixed == "6.0"
