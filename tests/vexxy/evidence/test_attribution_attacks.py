"""A hostile image or workload loads a package in a form meant to get `not_affected` for it: each form
here must leave the package loaded, or at least open (look-alike, unattributed)."""

import hashlib
import io
import tarfile
import zipfile

from vexxy.evidence.mapping import LOADED, map_profile
from vexxy.oci.layers.identity import (
    ARCHIVE,
    CHANGED_MARK,
    MAX_CENTRAL_DIRECTORY,
    UNREAD_MARK,
    identity_of_stream,
)
from vexxy.oci.layers.merged import read_layers
from vexxy.sbom.components import Component

SITE = "/usr/local/lib/python3.11/dist-packages"
YAML_LOADER = b"# PyYAML's loader\n" + b"class Loader: pass\n" * 8
YAML_PATH = f"{SITE}/yaml/loader.py".lstrip("/")  # as a layer names it
HELPER = b"# the application's own helper\n" + b"def helper(): return 1\n" * 8
UTIL = b"# another package's module\n" + b"def util(): return 2\n" * 8


def python(ref, name, files):
    return Component(ref, name, "1.0", "python", f"pkg:pypi/{name}@1.0", "PyPI", name, "1.0", tuple(files))


COMPONENTS = [python("y", "pyyaml", [f"{SITE}/yaml/loader.py"]), python("u", "utils", [f"{SITE}/utils/util.py"])]


def identity(path, content, mode=0o644):
    return identity_of_stream(path, io.BytesIO(content), mode, data=True)


IMAGE = {
    f"{SITE}/yaml/loader.py": identity(f"{SITE}/yaml/loader.py", YAML_LOADER),
    f"{SITE}/utils/util.py": identity(f"{SITE}/utils/util.py", UTIL),
    "/app/helper.py": identity("/app/helper.py", HELPER),
}


def profile(opens, identities=()):
    """`opens`: path -> what the tracer recorded there (digests and marks; empty: nothing, as on Kubernetes)."""
    return {
        "digest": "sha256:" + "c" * 64,
        "complete": True,
        "window": {"observed_seconds": 20.0, "configured_seconds": 20, "ended_by": "quiet"},
        "observations": {
            "opens": {
                path: {"first_seen": float(i), "count": 1, "phase": "idle", **({"sha256": list(shas)} if shas else {})}
                for i, (path, shas) in enumerate(opens.items())
            },
            "execs": {},
        },
        "identities": {i.sha256: i.to_dict() for i in identities},
    }


def yaml_usage(opens, identities=(), image=IMAGE, symlinks=None):
    return map_profile(COMPONENTS, profile(opens, identities), symlinks or {}, image).by_ref()["y"]


def zipped(members, prefix=b""):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, content in members.items():
            bundle.writestr(name, content)
    return prefix + archive.getvalue()


def layer(files):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, (content, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), mode
            tar.addfile(info, io.BytesIO(content))
    data.seek(0)
    return data


def test_a_zip_behind_a_shebang_or_other_bytes_under_any_name_is_read_for_its_members():
    """`sys.path.insert(0, "/app/vendor.bin")`: zipimport reads a zip whatever its name or what precedes it."""
    for prefix, mode in ((b"#!/usr/bin/python3\n", 0o755), (b"\x00junk" * 40, 0o644), (b"\x7fELF" + b"\x01" * 300, 0o755)):
        content = zipped({"yaml/loader.py": YAML_LOADER}, prefix)
        found = identity("/app/vendor.bin", content, mode)
        assert found.members == (("yaml/loader.py", hashlib.sha256(YAML_LOADER).hexdigest()),), prefix[:8]
        usage = yaml_usage({"/app/vendor.bin": [found.sha256]}, [found])
        assert usage.status == LOADED, prefix[:8]
        # The image reader sees the same (Kubernetes records no content: the image's file is used).
        image = read_layers([("l1", layer({"app/vendor.bin": (content, mode)}))]).code_identities()
        assert image["/app/vendor.bin"].members == found.members
        assert yaml_usage({"/app/vendor.bin": []}, image={**IMAGE, **image}).status == LOADED


def test_a_data_file_that_lists_no_code_is_not_an_archive():
    content = zipped({"data/weights.bin": b"\x00" * 100}, b"prefix")
    assert identity("/models/model.pt", content).kind == "data"


def test_a_packages_source_read_under_a_data_name_is_the_package():
    """`exec(open("/app/loader.txt").read())` runs PyYAML's loader."""
    found = identity("/app/loader.txt", YAML_LOADER)
    assert found.kind == "data"
    assert yaml_usage({"/app/loader.txt": [found.sha256]}, [found]).status == LOADED
    image = read_layers(
        [
            (
                "l1",
                layer(
                    {
                        YAML_PATH: (YAML_LOADER, 0o644),
                        "app/loader.txt": (YAML_LOADER, 0o644),
                        "app/readme.txt": (b"x" * 100, 0o644),
                    }
                ),
            )
        ]
    ).code_identities()
    assert "/app/readme.txt" not in image  # data that is no code's content is not listed
    assert yaml_usage({"/app/loader.txt": []}, image={**IMAGE, **image}).status == LOADED


def test_a_first_party_file_changed_during_the_run_is_not_the_images_own():
    """The workload writes PyYAML's code over its own helper, loads it, and writes the helper back before
    the tracer reads it: what was hashed is the image's file, but the file was changed."""
    helper = IMAGE["/app/helper.py"]
    usage = yaml_usage({"/app/helper.py": [helper.sha256, CHANGED_MARK]}, [helper])
    assert usage.unattributed_reaching == ["/app/helper.py (source)"]
    assert not yaml_usage({"/app/helper.py": [helper.sha256]}, [helper]).unattributed_reaching


def test_a_packages_own_file_changed_during_the_run_is_unattributed():
    util = IMAGE[f"{SITE}/utils/util.py"]
    report = map_profile(COMPONENTS, profile({f"{SITE}/utils/util.py": [util.sha256, CHANGED_MARK]}, [util]), {}, IMAGE)
    assert report.by_ref()["u"].status == LOADED
    assert report.by_ref()["y"].unattributed_reaching == [f"{SITE}/utils/util.py (source)"]
    cache = f"{SITE}/utils/__pycache__/util.cpython-311.pyc"  # the interpreter writes its cache: not unattributed
    report = map_profile(COMPONENTS, profile({cache: [hashlib.sha256(b"pyc").hexdigest(), CHANGED_MARK]}), {}, IMAGE)
    assert report.by_ref()["u"].status == LOADED and not report.unattributed


def test_code_too_large_for_the_tracer_to_read_is_not_taken_for_the_images_file():
    usage = yaml_usage({"/app/helper.py": [UNREAD_MARK]})
    assert usage.unattributed_reaching == ["/app/helper.py (source)"]


def test_an_observed_path_holding_the_member_separator_is_attributed():
    content = zipped({"yaml/loader.py": YAML_LOADER})
    found = identity("/tmp/a.zip!/b.zip", content)
    assert yaml_usage({"/tmp/a.zip!/b.zip": [found.sha256]}, [found]).status == LOADED


def test_a_link_removed_at_run_time_does_not_hide_the_module_path():
    """The image links `/app/plugins/yaml` to first-party code; the workload replaces the link with a
    directory holding a changed PyYAML and loads it. Without content recorded, the path gives it away."""
    links = {"/app/plugins/yaml": "/app"}
    usage = yaml_usage({"/app/plugins/yaml/loader.py": []}, symlinks=links)
    assert usage.lookalikes


def test_an_archive_whose_member_list_would_exhaust_memory_is_not_parsed():
    central = b"PK\x01\x02" + b"\x00" * 42
    body = central * (MAX_CENTRAL_DIRECTORY // len(central) + 1)
    end = b"PK\x05\x06" + b"\x00" * 8 + len(body).to_bytes(4, "little") + (0).to_bytes(4, "little") + b"\x00\x00"
    found = identity("/tmp/bomb.zip", body + end)
    assert found.kind == ARCHIVE and "member list over" in found.truncated
    assert yaml_usage({"/tmp/bomb.zip": [found.sha256]}, [found]).unattributed_reaching
