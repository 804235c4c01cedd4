"""Observed paths -> owning components: symlinks, compiled Python, shared objects, unknowns."""

from vexxy.evidence.filtered_sbom import filter_cyclonedx, missing_from_full
from vexxy.evidence.mapping import LOADED, NOT_LOADED, UNKNOWN, ProfileEvidence, map_profile, source_of
from vexxy.oci.layers.symlinks import resolve
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


def test_first_sight_and_phase_come_from_the_earliest_observation_of_a_file():
    lib = "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"
    components = [
        Component("z", "zlib1g", "1", "deb", "pkg:deb/debian/zlib1g@1?arch=amd64", "Debian:12", "zlib", "1", (lib,)),
        component("j", "jinja2", [f"{SITE}/jinja2/a.py", f"{SITE}/jinja2/b.py"]),
        component("y", "pyyaml", [f"{SITE}/yaml/a.py"]),
    ]
    observed = {
        "digest": "sha256:" + "b" * 64,
        "complete": True,
        "window": {"observed_seconds": 30.0, "configured_seconds": 60, "ended_by": "quiet"},
        "observations": {
            "opens": {
                "/usr/lib/x86_64-linux-gnu/libz.so.1": {"first_seen": 5.0, "count": 1, "phase": "fuzzing"},
                lib: {"first_seen": 1.0, "count": 2},  # no phase recorded: idle
                f"{SITE}/jinja2/a.py": {"first_seen": 3.0, "count": 1, "phase": "idle"},
                f"{SITE}/jinja2/__pycache__/a.cpython-311.pyc": {"first_seen": 2.0, "count": 1, "phase": "fuzzing"},
                f"{SITE}/yaml/a.py": {"first_seen": 4.0, "count": 1, "phase": "fuzzing"},
                f"{SITE}/yaml/__pycache__/a.cpython-311.pyc": {"first_seen": 4.0, "count": 1, "phase": "idle"},
            },
            "execs": {},
        },
    }
    links = {"/usr/lib/x86_64-linux-gnu/libz.so.1": "libz.so.1.2.13"}
    usage = map_profile(components, observed, links).by_ref()
    assert usage["z"].to_dict() == {
        "ref": "z",
        "name": "zlib1g",
        "version": "1",
        "purl": "pkg:deb/debian/zlib1g@1",
        "status": LOADED,
        "files_known": 1,
        "files_loaded": [lib],
        "shared_objects_loaded": 1,
        "first_seen": 1.0,
        "loaded_while_fuzzing_only": False,
        "lookalikes": [],
        "listed_code_missing": 0,
        "unattributed_reaching": [],
    }
    assert (usage["j"].first_seen, usage["j"].loaded_while_fuzzing_only, usage["j"].files_known) == (2.0, True, 2)
    assert (usage["y"].first_seen, usage["y"].loaded_while_fuzzing_only) == (4.0, True)  # a tie keeps the first seen


def test_files_of_every_component_count_as_owned():
    components = [component("a", "a", ["/a.py"]), component("b", "b", ["/b.py"])]
    report = map_profile(components, profile([("/a.py", "idle"), ("/b.py", "idle"), ("/app.py", "idle")]), {})
    assert report.unowned_paths == ["/app.py"]
