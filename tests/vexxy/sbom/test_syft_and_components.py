"""The real Syft binary on a real image, and the components vexxy reads from its JSON."""

import pytest

from vexxy.errors import SbomError
from vexxy.sbom.components import components_from_syft, strip_qualifiers
from vexxy.sbom.syft import SyftScanner

pytestmark = pytest.mark.slow  # real registry and Syft


def test_syft_inventories_debian_and_python_packages(demo_syft_json):
    components = {c.name: c for c in components_from_syft(demo_syft_json)}
    assert len(components) > 50
    libc = components["libc6"]
    assert libc.type == "deb" and libc.ecosystem == "Debian:12"
    assert libc.osv_name == "glibc"  # Debian advisories name the source package
    assert "/lib/x86_64-linux-gnu/libc.so.6" in libc.files  # as dpkg lists it (usrmerge symlinks resolve later)
    jinja = components["jinja2"]
    assert (jinja.ecosystem, jinja.osv_name, jinja.osv_version) == ("PyPI", "jinja2", "2.11.2")
    assert "/usr/local/lib/python3.11/dist-packages/jinja2/environment.py" in jinja.files
    assert components["pyyaml"].purl_without_qualifiers == "pkg:pypi/pyyaml@5.3.1"


def test_purl_qualifiers_are_dropped_for_vex_matching():
    assert (
        strip_qualifiers("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12")
        == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4"
    )


def test_component_without_file_list_has_no_files():
    document = {
        "artifacts": [
            {"id": "x", "name": "left-pad", "version": "1.3.0", "type": "npm", "purl": "pkg:npm/left-pad@1.3.0", "metadata": {}}
        ]
    }
    (component,) = components_from_syft(document)
    assert component.files == () and component.ecosystem == "npm"


def test_syft_failure_names_the_image(registry):
    with pytest.raises(SbomError, match="Syft failed to scan") as error:
        SyftScanner(timeout_seconds=60).scan_registry_image(
            f"{registry.address}/vexxy/absent@sha256:{'1' * 64}", registry.address, "linux/amd64"
        )
    assert "pulled" in error.value.hint
