"""The import evidence of an image, set against a run: imported-but-not-loaded components, loaded loose files, checks."""

import json

from builders import vulnerability_match
from import_trees import component

from vexxy.evidence.mapping import ComponentUsage, ProfileEvidence, UsageReport
from vexxy.imports.evidence import ImportEvidence, against_run, import_evidence
from vexxy.imports.sites import SHARED_OBJECT, ComponentImport, DynamicLoad, EntryPoint, ImportAnalysis, ImportSite, merged
from vexxy.vex.statements import build_statements

ENTRY = [EntryPoint(("python3", "/app/app.py"), "/app")]


def vulnerable(ref):
    return vulnerability_match(ref, ref, "1", summary="", matched="ECOSYSTEM >= 0", fixed=None)


def usage(unowned=(), **statuses):
    components = [ComponentUsage(ref, ref, "1", f"pkg:pypi/{ref}@1", status, 3) for ref, status in statuses.items()]
    return UsageReport(components, list(unowned), "sha256:p", True, "", "60 s")


def analysis(unreadable=()):
    post = ImportSite("yaml", "/app/app.py", 30, "import", scope="function do_POST")
    guarded = ImportSite("yaml.cyaml", "/app/app.py", 31, "from", guarded=True, scope="function do_POST")
    setting = ImportSite("loguru", "/app/settings.py", 1, "setting:INSTALLED_APPS")
    loaded = ImportSite("idna", "/app/app.py", 5, "import")
    return ImportAnalysis(
        ("/app/app.py", "/app/settings.py"),
        (loaded, post, guarded, setting),
        (
            ComponentImport("idna", (loaded,)),
            ComponentImport("loguru", (setting,)),
            ComponentImport("pyyaml", (post, guarded)),
        ),
        tuple(unreadable),
    )


def loose():
    worker = ImportSite("redis", "/srv/jobs/worker.py", 2, "import")
    tool = ImportSite("requests", "/opt/tools/fetch.py", 1, "import")
    return ImportAnalysis(
        ("/opt/tools/fetch.py", "/srv/jobs/worker.py"),
        (tool, worker),
        (ComponentImport("redis", (worker,)), ComponentImport("requests", (tool,))),
        (),
    )


def test_imported_but_not_loaded_components_are_listed_with_their_sites():
    found = import_evidence(analysis(), ENTRY, "python", loose())
    assert ImportEvidence.from_dict(found.to_dict()) == found
    assert found.checked and found.note == "" and found.import_sites == 4 and found.to_dict()["checked"] is True
    run = against_run(
        found, usage(idna="loaded", loguru="not_loaded", pyyaml="not_loaded", redis="not_loaded", requests="not_loaded")
    )
    assert [(n.purl, n.sites, n.hows) for n in run.not_loaded] == [
        ("pkg:pypi/loguru@1", ("/app/settings.py:1",), ("setting:INSTALLED_APPS (module)",)),
        (
            "pkg:pypi/pyyaml@1",
            ("/app/app.py:30", "/app/app.py:31"),
            ("import (function do_POST)", "from (function do_POST, ImportError guarded)"),
        ),
    ]
    assert set(run.imported_by) == {"idna", "loguru", "pyyaml"}  # loose files count only once loaded


def test_a_loose_file_the_run_loaded_counts_as_first_party():
    found = import_evidence(analysis(), ENTRY, "python", loose())
    run = against_run(found, usage(unowned=["/srv/jobs/worker.py"], redis="not_loaded", requests="not_loaded"))
    assert run.imported_by["redis"] == ("/srv/jobs/worker.py:2",) and "requests" not in run.imported_by
    assert [(n.component_ref, n.hows) for n in run.not_loaded] == [("redis", ("loaded unowned file",))]


def test_imports_are_unchecked_when_something_was_not_read_or_nothing_was_found():
    unread = import_evidence(analysis(), ENTRY, "python", unreadable=("layer 2: too big",))
    assert not unread.checked and unread.note == "1 first-party files or trees could not be read (layer 2: too big)"
    empty = import_evidence(ImportAnalysis((), (), (), ()), ENTRY, "python")
    assert not empty.checked and empty.note == "no first-party Python code was found in the image"


def test_profile_evidence_carries_the_import_verdict():
    found = import_evidence(analysis(), ENTRY, "python")
    report = usage(pyyaml="not_loaded", x="not_loaded")
    run = against_run(found, report)
    evidence = ProfileEvidence(report, run.imported_by, found.checked, found.note)
    assert evidence.for_component("pyyaml").imported_by == ("/app/app.py:30", "/app/app.py:31")
    assert evidence.for_component("x").imported_by == () and evidence.for_component("x").imports_checked
    assert not ProfileEvidence(usage(x="not_loaded")).for_component("x").imports_checked


def test_the_entrypoints_of_several_roles_are_one_analysis():
    web, worker = analysis(), loose()
    both = merged([web, worker, web])
    assert both.first_party_files == ("/app/app.py", "/app/settings.py", "/opt/tools/fetch.py", "/srv/jobs/worker.py")
    assert [c.component_ref for c in both.components] == ["idna", "loguru", "pyyaml", "redis", "requests"]
    assert len(both.sites) == 6 and both.by_ref()["pyyaml"].sites == web.by_ref()["pyyaml"].sites
    found = import_evidence(both, [*ENTRY, EntryPoint(("python3", "-m", "jobs.worker"), "/srv")], "python")
    assert found.entrypoints[1] == {"argv": ["python3", "-m", "jobs.worker"], "working_dir": "/srv"}
    assert ImportEvidence.from_dict(json.loads(json.dumps(found.to_dict()))) == found


COMPUTED = DynamicLoad("/app/app.py", 7, "`__import__` with a computed name")
NATIVE = DynamicLoad("/app/native.py", 3, "`ctypes.CDLL` of a computed path", SHARED_OBJECT)


def sbom():
    site = "/usr/lib/python3/site-packages"
    return [
        component("pyyaml", "pyyaml", [f"{site}/yaml/__init__.py", f"{site}/_yaml.cpython-311-x86_64-linux-gnu.so"]),
        component("idna", "idna", [f"{site}/idna/__init__.pyc"]),
        component("libssl", "libssl", ["/usr/lib/x86_64-linux-gnu/libssl.so.3"]),
        component("tzdata", "tzdata", ["/usr/share/zoneinfo/UTC"]),
    ]


def with_dynamic(*loads):
    base = analysis()
    return ImportAnalysis(base.first_party_files, base.sites, base.components, base.unreadable, tuple(loads))


def test_dynamic_loads_leave_the_imports_unchecked_naming_the_first_site():
    found = import_evidence(with_dynamic(COMPUTED, NATIVE), ENTRY, "python", components=sbom())
    assert not found.checked
    assert (
        found.note == "2 places load code by a name vexxy cannot read (first `/app/app.py:7`: `__import__` with a computed name)"
    )
    assert found.code_holders == {"python": ("idna", "libssl", "pyyaml"), "shared_object": ("libssl", "pyyaml")}
    assert ImportEvidence.from_dict(json.loads(json.dumps(found.to_dict()))) == found


def test_a_document_written_before_dynamic_loads_is_read_as_having_none():
    old = import_evidence(analysis(), ENTRY, "python").to_dict()
    for key in ("dynamic_loads", "loose_dynamic", "code_holders"):
        del old[key]
    read = ImportEvidence.from_dict(old)
    assert read.checked and read.dynamic_loads == () and read.loose_dynamic == {} and read.code_holders == {}


def test_each_component_a_dynamic_load_could_bring_in_is_named_unless_the_run_loaded_it():
    found = import_evidence(with_dynamic(COMPUTED, NATIVE), ENTRY, "python", components=sbom())
    run = against_run(found, usage(pyyaml="not_loaded", idna="loaded", libssl="not_loaded", tzdata="not_loaded"))
    computed, native = (COMPUTED.where, COMPUTED.what), (NATIVE.where, NATIVE.what)
    assert run.dynamic_loads == {"pyyaml": (computed, native), "libssl": (computed, native)}  # idna loaded, tzdata no code
    assert not run.checked and run.note == found.note and run.dynamic == (COMPUTED, NATIVE)
    only_native = against_run(
        import_evidence(with_dynamic(NATIVE), ENTRY, "python", components=[sbom()[1]]), usage(idna="not_loaded")
    )
    assert only_native.dynamic_loads == {}  # `ctypes` loads shared objects: idna holds none


def test_a_loose_file_the_run_loaded_or_shipped_bytecode_it_ran_counts_as_a_dynamic_load():
    worker = DynamicLoad("/srv/jobs/worker.py", 9, "`exec` of computed source")
    spare = ImportAnalysis((), (), (), (), (worker,))
    found = import_evidence(analysis(), ENTRY, "python", spare, components=sbom())
    assert found.checked and found.loose_dynamic == {"/srv/jobs/worker.py": (worker,)}
    unrun = against_run(found, usage(pyyaml="not_loaded"))
    assert unrun.checked and unrun.dynamic_loads == {} and unrun.note == ""
    run = against_run(found, usage(unowned=["/srv/jobs/worker.py"], pyyaml="not_loaded"))
    assert not run.checked and run.dynamic_loads == {"pyyaml": (("/srv/jobs/worker.py:9", "`exec` of computed source"),)}
    assert run.note.endswith("(first `/srv/jobs/worker.py:9`: `exec` of computed source)")
    bytecode = against_run(found, usage(unowned=["/opt/tool/plugin.pyc"], pyyaml="not_loaded"))
    assert bytecode.dynamic_loads == {"pyyaml": (("/opt/tool/plugin.pyc", "bytecode shipped without its source"),)}


def test_profile_evidence_carries_the_dynamic_loads_into_the_statement():
    found = import_evidence(with_dynamic(COMPUTED), ENTRY, "python", components=sbom())
    report = usage(libssl="not_loaded", pyyaml="not_loaded", tzdata="not_loaded", idna="loaded")
    run = against_run(found, report)
    evidence = ProfileEvidence(report, run.imported_by, run.checked, run.note, run.dynamic_loads)
    assert evidence.for_component("libssl").dynamic_loads == ((COMPUTED.where, COMPUTED.what),)
    assert evidence.for_component("tzdata").dynamic_loads == () and not evidence.for_component("tzdata").imports_checked
    by_ref = {s.component_ref: s for s in build_statements([vulnerable(ref) for ref in report.by_ref()], evidence)}
    assert (by_ref["libssl"].status.value, by_ref["libssl"].confidence_reason) == (
        "under_investigation",
        "dynamic_import_not_loaded",
    )
    assert "`/app/app.py:7` (`__import__` with a computed name)" in by_ref["libssl"].status_notes
    assert by_ref["pyyaml"].confidence_reason == "imported_not_loaded"  # a site naming it says more
    assert (by_ref["tzdata"].status.value, by_ref["tzdata"].confidence_reason) == ("not_affected", "not_loaded_imports_unchecked")
    assert evidence.for_component("idna").dynamic_loads == ()  # loaded: its statement says so
