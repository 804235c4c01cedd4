"""Observed paths -> owning components: symlinks, compiled Python, shared objects, unknowns."""

from vexxy.evidence.filtered_sbom import filter_cyclonedx, missing_from_full
from vexxy.evidence.mapping import LOADED, NOT_LOADED, UNKNOWN, ProfileEvidence, map_profile, source_of
from vexxy.sandbox.symlinks import resolve
from vexxy.sbom.components import Component

SITE = "/usr/local/lib/python3.11/dist-packages"


def component(ref, name, files):
    return Component(ref, name, "1.0", "python", f"pkg:pypi/{name}@1.0", "PyPI", name, "1.0", tuple(files))


def profile(opens, complete=True):
    return {
        "digest": "sha256:" + "a" * 64,
        "complete": complete,
        "incomplete_reason": "" if complete else "workload exited",
        "window": {"observed_seconds": 12.0, "configured_seconds": 60, "ended_by": "quiet"},
        "observations": {
            "opens": {p: {"first_seen": i * 0.5, "count": 1, "phase": phase} for i, (p, phase) in enumerate(opens)},
            "execs": {},
        },
    }


def test_symlink_resolution_stays_inside_the_image():
    links = {"/lib": "usr/lib", "/usr/lib/x86_64-linux-gnu/libz.so.1": "libz.so.1.2.13", "/evil": "../../../../etc"}
    assert resolve("/lib/x86_64-linux-gnu/libz.so.1", links) == "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"
    assert resolve("/evil/passwd", links) == "/etc/passwd"
    assert resolve("/a/b", {"/a": "/c", "/c": "a"}) == "/a/b"  # a link loop leaves the path as written


def test_pyc_maps_to_its_source():
    assert source_of(f"{SITE}/yaml/__pycache__/loader.cpython-311.pyc") == f"{SITE}/yaml/loader.py"
    assert source_of(f"{SITE}/yaml/__pycache__/loader.cpython-311.opt-1.pyc") == f"{SITE}/yaml/loader.py"
    assert source_of(f"{SITE}/yaml/loader.py") is None


def test_components_are_loaded_not_loaded_or_unknown():
    components = [
        component("j", "jinja2", [f"{SITE}/jinja2/__init__.py", f"{SITE}/jinja2/ext.py"]),
        component("y", "pyyaml", [f"{SITE}/yaml/__init__.py"]),
        component("n", "nofiles", []),
        Component(
            "z", "zlib1g", "1", "deb", "pkg:deb/debian/zlib1g@1", "Debian:12", "zlib", "1", ("/lib/x86_64-linux-gnu/libz.so.1",)
        ),
    ]
    observed = profile(
        [
            (f"{SITE}/jinja2/__pycache__/__init__.cpython-311.pyc", "idle"),
            ("/usr/lib/x86_64-linux-gnu/libz.so.1.2.13", "fuzzing"),
            ("/app/app.py", "idle"),
        ]
    )
    links = {"/lib": "usr/lib", "/usr/lib/x86_64-linux-gnu/libz.so.1": "libz.so.1.2.13"}
    report = map_profile(components, observed, links)
    usage = report.by_ref()
    assert usage["j"].status == LOADED and usage["j"].files_loaded == [f"{SITE}/jinja2/__init__.py"]
    assert usage["y"].status == NOT_LOADED
    assert usage["n"].status == UNKNOWN
    assert usage["z"].status == LOADED and usage["z"].shared_objects_loaded == 1 and usage["z"].loaded_while_fuzzing_only
    assert report.unowned_paths == ["/app/app.py"]
    evidence = ProfileEvidence(report)
    assert evidence.for_component("n").files_known == 0
    assert evidence.for_component("y").files_loaded == () and evidence.for_component("y").profile_complete


def test_filtered_cyclonedx_keeps_only_loaded_components():
    components = [
        component("j", "jinja2", [f"{SITE}/jinja2/__init__.py"]),
        component("y", "pyyaml", [f"{SITE}/yaml/__init__.py"]),
    ]
    report = map_profile(components, profile([(f"{SITE}/jinja2/__init__.py", "idle")]), {})
    full = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"component": {"bom-ref": "root", "type": "container", "name": "x"}},
        "components": [
            {"bom-ref": "pkg:pypi/jinja2@1.0?package-id=j", "type": "library", "name": "jinja2"},
            {"bom-ref": "pkg:pypi/pyyaml@1.0?package-id=y", "type": "library", "name": "pyyaml"},
        ],
        "dependencies": [{"ref": "root", "dependsOn": ["pkg:pypi/jinja2@1.0?package-id=j", "pkg:pypi/pyyaml@1.0?package-id=y"]}],
    }
    filtered = filter_cyclonedx(full, report)
    assert [c["name"] for c in filtered["components"]] == ["jinja2"]
    assert filtered["dependencies"] == [{"ref": "root", "dependsOn": ["pkg:pypi/jinja2@1.0?package-id=j"]}]
    properties = {p["name"]: p["value"] for p in filtered["components"][0]["properties"]}
    assert (
        properties["vexxy:evidence:files_loaded_count"] == "1"
        and properties["vexxy:evidence:file"] == f"{SITE}/jinja2/__init__.py"
    )
    assert missing_from_full(filtered, full) == []
    assert missing_from_full({"components": [{"bom-ref": "other"}]}, full) == ["other"]
