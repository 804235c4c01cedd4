"""Image files read from layer tarballs: the same analysis as on an unpacked root, whiteouts applied, bounds kept."""

import gzip
import io
import tarfile

import pytest
from import_trees import app_tree

from vexxy.imports.image_files import ImageFiles
from vexxy.imports.python_source import PythonImports
from vexxy.imports.sites import EntryPoint
from vexxy.oci.build import directory_entry, file_entry, layer_from_directory, layer_from_entries
from vexxy.oci.layers.entries import UnsafeLayer
from vexxy.oci.layers.merged import LayerFiles, LayerLimitExceeded, read_layers
from vexxy.oci.layers.symlinks import collect_symlinks

SYMLINK = tarfile.SYMTYPE


def stream(layer):
    return io.BytesIO(gzip.decompress(layer.data))


def link(path, target, kind=SYMLINK):
    info = tarfile.TarInfo(path)
    info.type, info.linkname = kind, target
    return info


def tree(*layers, **limits):
    return read_layers([(str(i), stream(layer)) for i, layer in enumerate(layers)], **limits)


@pytest.mark.parametrize(
    "argv,working_dir",
    [(["python3", "/app/main.py"], "/"), (["gunicorn", "web.views:app"], "/app"), (["/usr/local/bin/gunicorn"], "/")],
)
def test_layers_give_the_same_analysis_as_the_unpacked_tree(tmp_path, argv, working_dir):
    root, components = app_tree(tmp_path)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/python3").symlink_to("python3.11")
    (root / "usr/bin/python3.11").write_bytes(b"\x7fELF" + b"\0" * 64)
    entry = EntryPoint(tuple(argv), working_dir)
    on_disk = PythonImports().analyze(ImageFiles(root), components, entry)
    from_layers = PythonImports().analyze(tree(layer_from_directory(root)), components, entry)
    assert from_layers == on_disk and on_disk.components
    assert tree(layer_from_directory(root)).symlinks == collect_symlinks(root)


def test_whiteouts_and_opaque_directories_hide_lower_files_only():
    base = layer_from_entries(
        [
            directory_entry("app"),
            file_entry("app/main.py", "import yaml\n"),
            file_entry("app/old.py", "import redis\n"),
            directory_entry("app/plugins"),
            file_entry("app/plugins/a.py", "import requests\n"),
        ]
    )
    upper = layer_from_entries(
        [
            file_entry("app/.wh.old.py", ""),
            directory_entry("app/plugins"),
            file_entry("app/plugins/.wh..wh..opq", ""),
            file_entry("app/plugins/b.py", "import idna\n"),
            link("app/same.py", "app/plugins/b.py", tarfile.LNKTYPE),
        ]
    )
    files = tree(base, upper)
    assert files.listdir("/app") == ["main.py", "plugins", "same.py"]
    assert files.listdir("/app/plugins") == ["b.py"]
    assert files.read_bytes("/app/same.py") == b"import idna\n"
    assert not files.is_file("/app/old.py") and files.incomplete == []


def test_a_hard_link_holds_the_file_as_it_was_when_linked():
    """The decoy layer: the link is made to the real code, then the linked name is rewritten."""
    layer = layer_from_entries(
        [
            file_entry("app/decoy.py", "import yaml\n"),
            link("app/main.py", "app/decoy.py", tarfile.LNKTYPE),
            file_entry("app/decoy.py", "print('nothing to see')\n"),
        ]
    )
    files = tree(layer)
    assert files.read_bytes("/app/main.py") == b"import yaml\n"
    assert files.read_bytes("/app/decoy.py") == b"print('nothing to see')\n"


@pytest.mark.parametrize(
    "entries,refusal",
    [
        ([link("app/main.py", "app/decoy.py", tarfile.LNKTYPE)], "not a file the same layer wrote before it"),
        ([file_entry("../../etc/passwd.py", "import os\n")], "climbs out of the root"),
        ([file_entry("app/" + "a" * 300 + ".py", "")], "NAME_MAX"),
        ([file_entry("app/" + "a/" * 2100 + "x.py", "")], "PATH_MAX"),
        ([link("app", "/srv"), file_entry("app/x.py", "")], "which the same layer made a symbolic link"),
        ([file_entry("app", "x"), file_entry("app/x.py", "")], "non-directory"),
        ([file_entry("app/.wh.", "")], "hides no file"),
    ],
)
def test_a_layer_that_could_be_applied_two_ways_is_refused(entries, refusal):
    """The sandbox's unpacker refuses the same entries (`vexxy.oci.layers.entries`): both see one filesystem or none."""
    base = layer_from_entries([file_entry("app/decoy.py", "import yaml\n")])
    with pytest.raises(UnsafeLayer, match=refusal):
        tree(base, layer_from_entries(entries))


def test_only_candidate_files_are_kept_and_paths_never_leave_the_image():
    layer = layer_from_entries(
        [
            file_entry("usr/lib/python3/dist-packages/yaml/__init__.py", "x = 1\n"),
            file_entry("usr/lib/python3.11/json/__init__.py", "x = 1\n"),
            file_entry("usr/lib/python3/dist-packages/PyYAML-5.3.1.dist-info/top_level.txt", "yaml\n"),
            file_entry("usr/local/bin/tool", "#!/usr/bin/python3\nimport yaml\n"),
            file_entry("usr/bin/ls", b"\x7fELF..."),
            link("app", "/../../host"),
        ]
    )
    files = tree(layer)
    assert files.is_file("/usr/lib/python3/dist-packages/yaml/__init__.py")
    with pytest.raises(OSError, match="not read"):
        files.read_bytes("/usr/lib/python3/dist-packages/yaml/__init__.py")
    with pytest.raises(OSError, match="not read"):
        files.read_bytes("/usr/lib/python3.11/json/__init__.py")
    assert files.read_bytes("/usr/lib/python3/dist-packages/PyYAML-5.3.1.dist-info/top_level.txt") == b"yaml\n"
    assert files.head("/usr/local/bin/tool", 2) == b"#!" and files.head("/usr/bin/ls") == b""
    assert files.canonical("/app/x.py") == "/host/x.py" and files.incomplete == []


def test_bounds_on_entries_and_kept_bytes():
    many = layer_from_entries([file_entry(f"app/m{i}.py", "import os\n" * 20) for i in range(10)])
    with pytest.raises(LayerLimitExceeded, match="more than 5 entries"):
        tree(many, max_entries=5)
    cut = tree(many, max_kept_bytes=1000)
    assert cut.incomplete == ["5 candidate files not read: over the limit of 1000 bytes kept"]
    assert sum(1 for i in range(10) if cut.head(f"/app/m{i}.py")) == 5
    assert isinstance(cut, LayerFiles)
