"""Loaded files attributed by identity: bytecode under any cache prefix, copies, renames and archive members
by content, look-alikes and code nobody can attribute; what each does to the statements."""

import hashlib
import io
import zipfile

import pytest
from builders import vulnerability_match

from vexxy.evidence.attribution import Attributor, module_path, source_candidates
from vexxy.evidence.mapping import LOADED, NOT_LOADED, ProfileEvidence, map_profile
from vexxy.oci.layers.identity import MIN_IDENTITY_BYTES, CodeIdentity, identity_of_stream
from vexxy.sbom.components import Component
from vexxy.vex.confidence import Reason
from vexxy.vex.statements import Status, build_statements

SITE = "/usr/local/lib/python3.11/dist-packages"
YAML_INIT = b"# PyYAML's package module\n" + b"from .error import *\n" * 8
YAML_LOADER = b"# PyYAML's loader\n" + b"class Loader: pass\n" * 8
LIBWEBP = b"\x7fELF" + b"\x01" * 200


def identity(path, content, mode=0o644):
    return identity_of_stream(path, io.BytesIO(content), mode)


def sha(content):
    return hashlib.sha256(content).hexdigest()


def python(ref, name, files):
    return Component(ref, name, "1.0", "python", f"pkg:pypi/{name}@1.0", "PyPI", name, "1.0", tuple(files))


def deb(ref, name, files):
    return Component(ref, name, "1.0", "deb", f"pkg:deb/debian/{name}@1.0", "Debian:12", name, "1.0", tuple(files))


COMPONENTS = [
    python("y", "pyyaml", [f"{SITE}/yaml/__init__.py", f"{SITE}/yaml/loader.py"]),
    python("p", "pillow", [f"{SITE}/PIL/__init__.py", f"{SITE}/Pillow.libs/libwebp-1a2b.so.7"]),
    deb("z", "zlib1g", ["/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"]),
]
IMAGE = {
    f"{SITE}/yaml/__init__.py": identity(f"{SITE}/yaml/__init__.py", YAML_INIT),
    f"{SITE}/yaml/loader.py": identity(f"{SITE}/yaml/loader.py", YAML_LOADER),
    f"{SITE}/Pillow.libs/libwebp-1a2b.so.7": identity("libwebp-1a2b.so.7", LIBWEBP),
    "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13": identity("libz.so.1.2.13", b"\x7fELF" + b"\x02" * 200),
    "/app/main.py": identity("/app/main.py", b"import flask\n" * 10),
}


def profile(opens, identities=()):
    """`opens`: path -> sha256 list recorded by the tracer (empty: none recorded, as on Kubernetes)."""
    return {
        "digest": "sha256:" + "c" * 64,
        "complete": True,
        "incomplete_reason": "",
        "window": {"observed_seconds": 20.0, "configured_seconds": 20, "ended_by": "quiet"},
        "observations": {
            "opens": {
                path: {"first_seen": float(i), "count": 1, "phase": "idle", **({"sha256": shas} if shas else {})}
                for i, (path, shas) in enumerate(opens.items())
            },
            "execs": {},
        },
        "identities": {i.sha256: i.to_dict() for i in identities},
    }


def usage(opens, identities=(), image=IMAGE):
    return map_profile(COMPONENTS, profile(opens, identities), {}, image).by_ref()


def test_bytecode_stands_for_its_source_under_any_cache_prefix():
    assert source_candidates(f"{SITE}/yaml/__pycache__/loader.cpython-311.pyc") == [f"{SITE}/yaml/loader.py"]
    assert source_candidates("/app/loader.pyc") == ["/app/loader.py"]
    prefixed = source_candidates(f"/pyc{SITE}/yaml/__init__.cpython-311.pyc")
    assert prefixed[0] == f"{SITE}/yaml/__init__.py"  # PYTHONPYCACHEPREFIX=/pyc
    assert f"{SITE}/yaml/__init__.py" in source_candidates(f"/var/cache/deep/py{SITE}/yaml/__init__.cpython-311.opt-2.pyc")
    assert source_candidates(f"{SITE}/yaml/loader.py") == []
    found = usage({f"/pyc{SITE}/yaml/__init__.cpython-311.pyc": []})
    assert found["y"].status == LOADED and found["y"].files_loaded == [f"{SITE}/yaml/__init__.py"]


def test_a_copy_or_rename_is_the_package_by_content():
    moved = identity("/tmp/elsewhere/notyaml/loader.py", YAML_LOADER)
    found = usage({"/tmp/elsewhere/notyaml/loader.py": [moved.sha256]}, [moved])
    assert found["y"].status == LOADED
    assert found["y"].files_loaded == [f"/tmp/elsewhere/notyaml/loader.py (same content as {SITE}/yaml/loader.py)"]
    copied_library = identity("/tmp/libother.so", LIBWEBP)
    found = usage({"/tmp/libother.so": [copied_library.sha256]}, [copied_library])
    assert found["p"].status == LOADED and "/tmp/libother.so (same content as" in found["p"].files_loaded[0]


def test_an_archive_member_with_a_packages_content_loads_the_package():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("vendored/loader.py", YAML_LOADER)
        zipped.writestr("README.txt", "not code")
    opened = identity("/tmp/x.zip", archive.getvalue())
    assert [name for name, _ in opened.members] == ["vendored/loader.py"]
    found = usage({"/tmp/x.zip": [opened.sha256]}, [opened])
    assert found["y"].status == LOADED and found["y"].files_loaded[0].startswith("/tmp/x.zip!/vendored/loader.py (same content")


def test_a_small_file_names_no_package():
    empty = identity("/app/pkg/__init__.py", b"")
    tiny = {f"{SITE}/yaml/__init__.py": identity(f"{SITE}/yaml/__init__.py", b"# x\n"), "/app/pkg/__init__.py": empty}
    found = usage({"/app/pkg/__init__.py": [empty.sha256]}, [empty], image={**IMAGE, **tiny})
    assert found["y"].status == NOT_LOADED and found["y"].lookalikes == [] and not found["y"].unattributed_reaching
    assert not identity("/x.py", b"x" * (MIN_IDENTITY_BYTES - 1)).distinctive


def test_a_file_listed_by_one_package_with_anothers_content_loads_both():
    """A hostile image can list a copy of PyYAML's file in another package's RECORD: content still names PyYAML."""
    components = [*COMPONENTS, python("d", "decoy", [f"{SITE}/decoy/loader.py"])]
    image = {**IMAGE, f"{SITE}/decoy/loader.py": identity(f"{SITE}/decoy/loader.py", YAML_LOADER)}
    report = map_profile(components, profile({f"{SITE}/decoy/loader.py": []}), {}, image).by_ref()
    assert report["d"].status == LOADED and report["y"].status == LOADED


def test_code_that_looks_like_a_package_keeps_it_open():
    """A rename seen without content (Kubernetes records paths only): the module path gives it away."""
    found = usage({"/tmp/moved/yaml/__init__.py": []})
    assert found["y"].status == NOT_LOADED
    assert found["y"].lookalikes == [f"/tmp/moved/yaml/__init__.py (its module path ends like {'y'!r}'s)"]
    assert found["p"].lookalikes == [] and found["z"].lookalikes == []
    assert module_path(f"{SITE}/yaml/__init__.py") == "yaml/__init__.py"
    assert usage({"/pyc/tmp/moved/yaml/__init__.cpython-311.pyc": []})["y"].lookalikes


def test_code_nobody_can_attribute_reaches_the_components_holding_that_kind_of_code():
    written = identity("/tmp/generated/mod.py", b"import sys\n" * 20)
    found = usage({"/tmp/generated/mod.py": [written.sha256]}, [written])
    assert found["y"].unattributed_reaching == ["/tmp/generated/mod.py (source)"]
    assert found["p"].unattributed_reaching  # holds Python code too
    assert found["z"].unattributed_reaching == []  # a C library cannot be a Python module


def test_the_images_own_unowned_code_is_first_party():
    first_party = IMAGE["/app/main.py"]
    found = usage(
        {
            "/app/main.py": [first_party.sha256],
            "/app/__pycache__/main.cpython-311.pyc": [],  # written at run time for a source the image has
            "/pyc/app/main.cpython-311.pyc": [],
        },
        [first_party],
    )
    assert all(not u.unattributed_reaching and not u.lookalikes for u in found.values())


def test_a_changed_first_party_file_is_unattributed():
    changed = identity("/app/main.py", b"import yaml  # rewritten at run time\n" * 5)
    found = usage({"/app/main.py": [changed.sha256]}, [changed])
    assert found["y"].unattributed_reaching == ["/app/main.py (source)"]


def test_an_archive_whose_members_were_not_all_read_is_unattributed():
    truncated = CodeIdentity(sha(b"x"), 100, "archive", (), "archive larger than 67108864 bytes: members not listed")
    observed = {"/tmp/big.zip": {"sha256": [truncated.sha256]}}
    found = Attributor(COMPONENTS, {}, IMAGE).attribute(observed, {truncated.sha256: truncated}, set())
    assert "/tmp/big.zip" in found.unattributed


def match(ref, name, purl, cve):
    return vulnerability_match(
        ref,
        name,
        "1.0",
        purl=purl,
        advisory=f"OSV-{cve}",
        aliases=(cve,),
        vulnerability=cve,
        summary="",
        matched="< 99",
        fixed="99",
    )


MATCHES = [
    match("y", "pyyaml", "pkg:pypi/pyyaml@1.0", "CVE-2020-14343"),
    match("p", "pillow", "pkg:pypi/pillow@1.0", "CVE-2023-4863"),
    match("z", "zlib1g", "pkg:deb/debian/zlib1g@1.0", "CVE-2022-37434"),
]


@pytest.mark.parametrize(
    "opens,reasons",
    [
        ({"/tmp/moved/yaml/__init__.py": []}, {"y": Reason.LOOKALIKE_LOADED, "p": Reason.NOT_LOADED_NOT_IMPORTED}),
        (
            {"/tmp/generated/mod.py": [sha(b"generated")]},
            {"y": Reason.UNATTRIBUTED_CODE_LOADED, "p": Reason.UNATTRIBUTED_CODE_LOADED, "z": Reason.NOT_LOADED_NOT_IMPORTED},
        ),
        ({f"/pyc{SITE}/yaml/__init__.cpython-311.pyc": []}, {"y": Reason.LOADED, "z": Reason.NOT_LOADED_NOT_IMPORTED}),
    ],
)
def test_statements_never_say_not_affected_for_what_the_loaded_code_could_be(opens, reasons):
    identities = [CodeIdentity(s, 200, "source") for shas in opens.values() for s in shas]
    report = map_profile(COMPONENTS, profile(opens, identities), {}, IMAGE)
    statements = {s.component_ref: s for s in build_statements(MATCHES, ProfileEvidence(report, imports_checked=True))}
    for ref, reason in reasons.items():
        assert statements[ref].confidence_reason == reason.value, (ref, statements[ref].status_notes)
    for statement in statements.values():
        if statement.confidence_reason in (Reason.LOOKALIKE_LOADED.value, Reason.UNATTRIBUTED_CODE_LOADED.value):
            assert statement.status == Status.UNDER_INVESTIGATION and statement.confidence == "medium"
            assert next(iter(opens)) in statement.status_notes


def test_bytecode_of_a_source_reached_through_a_link_is_that_sources():
    """Debian's `sitecustomize.py` links to /etc: the cache the interpreter writes beside the link is its owner's."""
    components = [*COMPONENTS, deb("m", "libpython3.11-minimal", ["/etc/python3.11/sitecustomize.py"])]
    links = {"/usr/lib/python3.11/sitecustomize.py": "/etc/python3.11/sitecustomize.py"}
    written = CodeIdentity(sha(b"cache"), 300, "bytecode")
    opens = {"/usr/lib/python3.11/__pycache__/sitecustomize.cpython-311.pyc": [written.sha256]}
    report = map_profile(components, profile(opens, [written]), links, IMAGE)
    assert report.by_ref()["m"].status == LOADED and report.unattributed == [] and report.unowned_paths == []


def test_a_package_listing_code_the_image_lacks_has_unknown_files():
    """A forged RECORD naming paths the image does not hold says nothing of where the package's code is."""
    forged = python("f", "forged", [f"{SITE}/forged/__init__.py", f"{SITE}/forged/core.py", f"{SITE}/forged/util.py"])
    image = {**IMAGE, f"{SITE}/forged/__init__.py": identity(f"{SITE}/forged/__init__.py", b"# forged\n" * 10)}
    report = map_profile([*COMPONENTS, forged], profile({"/app/main.py": []}), {}, image)
    usage = report.by_ref()["f"]
    assert usage.status == "unknown" and usage.listed_code_missing == 2
    (statement,) = build_statements([match("f", "forged", "pkg:pypi/forged@1.0", "CVE-2099-1")], ProfileEvidence(report))
    assert statement.status == Status.UNDER_INVESTIGATION and statement.confidence_reason == Reason.UNKNOWN_FILES.value
    assert "lists 2 code files the image does not hold" in statement.status_notes
    # A slimmed package (a minority of its files removed, its caches dropped) keeps its answer.
    slim = python("s", "slim", [f"{SITE}/slim/__init__.py", f"{SITE}/slim/a.py", f"{SITE}/slim/tests/test_a.py"])
    kept = {f: identity(f, b"# slim\n" * 10) for f in (f"{SITE}/slim/__init__.py", f"{SITE}/slim/a.py")}
    assert map_profile([slim], profile({}), {}, kept).by_ref()["s"].status == NOT_LOADED
