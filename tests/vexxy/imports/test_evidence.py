"""The import evidence of an image, set against a run: imported-but-not-loaded components, loaded loose files, checks."""

import json

from vexxy.evidence.mapping import ComponentUsage, ProfileEvidence, UsageReport
from vexxy.imports.evidence import ImportEvidence, against_run, import_evidence
from vexxy.imports.sites import ComponentImport, EntryPoint, ImportAnalysis, ImportSite, merged

ENTRY = [EntryPoint(("python3", "/app/app.py"), "/app")]


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
