"""Per-ecosystem version ordering (all from univers) as OSV matching needs it."""

import pytest

from vexxy.matching.versions import UnorderableVersion, parse_version


def ordered(ecosystem, *versions):
    parsed = [parse_version(ecosystem, v) for v in versions]
    return all(a < b for a, b in zip(parsed, parsed[1:], strict=False))


def test_pep440_pre_post_dev_and_local():
    assert ordered("PyPI", "1.0.dev0", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0+local.1", "1.0.post1", "1.1")
    assert parse_version("PyPI", "1.0") == parse_version("PyPI", "1.0.0")
    assert parse_version("PyPI", "2.10") > parse_version("PyPI", "2.9.6")


def test_debian_epochs_tildes_and_security_suffixes():
    assert ordered("Debian:12", "2.36-9+deb12u4", "2.36-9+deb12u14")
    assert ordered("Debian:12", "1.0~rc1", "1.0", "1.0+b1")
    assert ordered("Debian:12", "9.9", "1:0.1")  # the epoch wins
    assert ordered("Debian:12", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2", "3.0.11-1")


def test_semver_pre_releases():
    assert ordered("npm", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-rc.1", "1.0.0", "1.0.1")
    assert ordered("npm", "2.9.0", "2.10.0")


def test_maven_and_go():
    assert ordered("Maven", "1.0-SNAPSHOT", "1.0", "1.0.1")
    assert ordered("Go", "v1.2.3", "v1.10.0")


def test_alpine_orders_every_comparison_by_its_version_not_its_string():
    assert ordered("Alpine:v3.19", "3.1.9-r0", "3.1.10-r0", "3.1.10-r1", "3.10.0-r0")
    older, newer = parse_version("Alpine:v3.19", "3.1.9-r0"), parse_version("Alpine:v3.19", "3.1.10-r0")
    assert newer >= older and not older >= newer and older <= newer and not newer <= older
    assert older >= parse_version("Alpine:v3.19", "3.1.9-r0") <= older


def test_unparsable_version_is_reported_not_guessed():
    with pytest.raises(UnorderableVersion, match="not a valid PyPI version"):
        parse_version("PyPI", "not a version!")
    with pytest.raises(UnorderableVersion, match="no version ordering"):
        parse_version("Unknown-Ecosystem", "1.0")


def test_the_ecosystem_family_picks_the_ordering_and_semver_ranges_use_semver():
    from univers import versions as uv

    from vexxy.matching.versions import version_class

    assert version_class("Ubuntu:Pro:18.04:LTS") is uv.DebianVersion and version_class("Debian:12") is uv.DebianVersion
    assert version_class("NoSuchEcosystem") is None
    assert isinstance(parse_version("PyPI", "1.0.0-rc.1", "SEMVER"), uv.SemverVersion)
    assert isinstance(parse_version("PyPI", "1.0.0-rc.1"), uv.PypiVersion)
    assert parse_version("npm", "v1.2.3") == parse_version("npm", "1.2.3") == parse_version("Go", "v1.2.3", "SEMVER")
    with pytest.raises(UnorderableVersion, match="no version ordering is known for ecosystem 'Nope'"):
        parse_version("Nope", "1")
