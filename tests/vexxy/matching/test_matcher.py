"""SBOM components x advisories: real Syft output against the bundled real advisories."""

import pytest

from vexxy import settings
from vexxy.matching.database import AdvisoryDatabase
from vexxy.matching.matcher import match_components
from vexxy.osv.loader import load_advisories
from vexxy.osv.records import parse_osv
from vexxy.sbom.components import Component, components_from_syft


@pytest.mark.slow
def test_demo_image_matches_its_known_vulnerable_python_packages(demo_syft_json):
    database = AdvisoryDatabase(load_advisories(str(settings.BUNDLED_OSV)).advisories)
    report = match_components(components_from_syft(demo_syft_json), database)
    found = {(m.vulnerability, m.purl) for m in report.matches}
    assert found == {
        ("CVE-2020-28493", "pkg:pypi/jinja2@2.11.2"),
        ("CVE-2020-14343", "pkg:pypi/pyyaml@5.3.1"),
    }
    pyyaml = next(m for m in report.matches if m.purl.startswith("pkg:pypi/pyyaml"))
    assert pyyaml.advisory_id == "PYSEC-2021-142" and pyyaml.fixed == "5.4"
    assert "GHSA-8q59-q68h-6hv4" in pyyaml.aliases
    assert report.components_checked == len(components_from_syft(demo_syft_json))


def test_name_normalization_and_debian_source_packages():
    """Debian advisories name the source package and version (shape as OSV publishes for Debian:12)."""
    debian = parse_osv(
        {
            "id": "DEBIAN-CVE-2000-0001",
            "modified": "2024-01-01T00:00:00Z",
            "aliases": ["CVE-2000-0001"],
            "affected": [
                {
                    "package": {"ecosystem": "Debian:12", "name": "glibc", "purl": "pkg:deb/debian/glibc?arch=source"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u7"}]}],
                }
            ],
        }
    )
    pypi = parse_osv(
        {
            "id": "PYSEC-0000-1",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Zope.Interface"}, "versions": ["5.0"]}],
        }
    )
    libc = Component(
        "a",
        "libc6",
        "2.36-9+deb12u4",
        "deb",
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12",
        "Debian:12",
        "glibc",
        "2.36-9+deb12u4",
    )
    fixed_libc = Component(
        "b",
        "libc-bin",
        "2.36-9+deb12u7",
        "deb",
        "pkg:deb/debian/libc-bin@2.36-9%2Bdeb12u7",
        "Debian:12",
        "glibc",
        "2.36-9+deb12u7",
    )
    other_release = Component(
        "c", "libc6", "2.31-13", "deb", "pkg:deb/debian/libc6@2.31-13?distro=debian-11", "Debian:11", "glibc", "2.31-13"
    )
    zope = Component("d", "zope-interface", "5.0", "python", "pkg:pypi/zope-interface@5.0", "PyPI", "zope_interface", "5.0")
    report = match_components([libc, fixed_libc, other_release, zope], AdvisoryDatabase([debian, pypi]))
    assert {(m.component_ref, m.vulnerability) for m in report.matches} == {("a", "CVE-2000-0001"), ("d", "PYSEC-0000-1")}
    assert report.matches[0].purl == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4"


def test_unorderable_component_version_is_reported():
    advisory = parse_osv(
        {
            "id": "X-1",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "odd"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                }
            ],
        }
    )
    odd = Component("e", "odd", "not/a/version", "python", "pkg:pypi/odd@x", "PyPI", "odd", "not/a/version")
    report = match_components([odd], AdvisoryDatabase([advisory]))
    assert report.matches == [] and report.unorderable and "not a valid PyPI version" in report.unorderable[0][1]
