"""The sandbox and the import reader see one filesystem: layers unpacked by the sandbox's writer and
stacked by the kernel's overlayfs give exactly the tree the import reader builds from the same blobs.

Hand-written hostile sequences (the hard-link decoy, whiteouts and re-adds in one layer, opaque
directories, type changes) and generated ones are applied both ways and compared entry by entry:
kind, file content and link target. A layer either side refuses, both refuse.
"""

import gzip
import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vexxy.oci.build import directory_entry, file_entry, layer_from_entries
from vexxy.oci.layers.entries import UnsafeLayer
from vexxy.oci.layers.merged import LayerFiles
from vexxy.oci.layers.unpack import Budget, unpack_layer

LARGE = Budget(max_bytes=1 << 30, max_entries=100_000)


def symlink(path, target):
    info = tarfile.TarInfo(path)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def hardlink(path, target):
    info = tarfile.TarInfo(path)
    info.type, info.linkname = tarfile.LNKTYPE, target
    return info


def whiteout(path):
    head, _, name = path.rpartition("/")
    return file_entry(f"{head}/.wh.{name}" if head else f".wh.{name}", "")


def opaque(directory):
    return file_entry(f"{directory}/.wh..wh..opq", "")


def kernel_tree(root: Path, layers, tmp: Path) -> dict[str, tuple]:
    """Unpack with the sandbox's writer, stack with overlayfs, walk the merged mount."""
    directories = [tmp / "empty"]
    directories[0].mkdir()
    for index, blob in enumerate(layers):
        directory = tmp / f"layer{index}"
        directory.mkdir()
        with gzip.open(io.BytesIO(blob.data)) as stream:
            unpack_layer(stream, directory, str(index), LARGE)
        directories.append(directory)
    merged = tmp / "merged"
    merged.mkdir()
    lower = ":".join(str(d) for d in reversed(directories))
    subprocess.run(["mount", "-t", "overlay", "-o", f"lowerdir={lower}", "vexxy-test", str(merged)], check=True)
    try:
        found = {}
        for dirpath, dirnames, filenames in os.walk(merged):
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                path = "/" + os.path.relpath(full, merged)
                try:
                    os.lstat(full)
                except FileNotFoundError:  # a whiteout readdir lists in a directory only one layer has: not there
                    continue
                if os.path.islink(full):
                    found[path] = ("link", os.readlink(full))
                elif os.path.isdir(full):
                    found[path] = ("dir",)
                else:  # the import reader keeps the content of `.py` files only
                    found[path] = ("file", Path(full).read_bytes() if name.endswith(".py") else None)
        return found
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def reader_tree(layers) -> dict[str, tuple]:
    files = LayerFiles(max_kept_bytes=1 << 30)
    for index, blob in enumerate(layers):
        files.add_layer(io.BytesIO(gzip.decompress(blob.data)), str(index))
    unread = {note.split(": ", 1)[1].split(" links to ")[0] for note in files.incomplete if "was not read" in note}
    found = {}
    for path, node in files._nodes.items():  # noqa: SLF001 - the whole tree, as the comparison needs it
        if path == "/":
            continue
        if node.kind == "link":
            found[path] = ("link", node.target)
        elif node.kind == "dir":
            found[path] = ("dir",)
        elif path in unread:  # linked under a `.py` name to a file it did not keep: said, not guessed
            found[path] = ("file", "unread")
        else:
            found[path] = ("file", node.content if path.endswith(".py") else None)
    return found


def both(layers, tmp_path):
    """Each side's tree, or the refusal's type when it refused."""
    try:
        reader = reader_tree(layers)
    except UnsafeLayer:
        reader = UnsafeLayer
    try:
        kernel = kernel_tree(tmp_path, layers, tmp_path)
    except UnsafeLayer:
        kernel = UnsafeLayer
    if isinstance(reader, dict) and isinstance(kernel, dict):
        for path, seen in reader.items():
            if seen == ("file", "unread") and kernel.get(path, ("",))[0] == "file":
                kernel[path] = seen
    return reader, kernel


CASES = {
    "hard-link decoy": [
        [
            directory_entry("app"),
            file_entry("app/decoy.py", "import yaml\n"),
            hardlink("app/main.py", "app/decoy.py"),
            file_entry("app/decoy.py", "print('decoy')\n"),
        ]
    ],
    "whiteout then re-add in one layer": [
        [directory_entry("d"), file_entry("d/a.py", "a"), file_entry("d/b.py", "b")],
        [whiteout("d"), directory_entry("d"), file_entry("d/c.py", "c")],
    ],
    "opaque directory keeps its own layer's files": [
        [directory_entry("d"), file_entry("d/a.py", "a")],
        [file_entry("d/b.py", "b"), opaque("d"), file_entry("d/c.py", "c")],
    ],
    "added then whited out in one layer": [
        [file_entry("x.py", "lower")],
        [file_entry("x.py", "upper"), whiteout("x.py")],
    ],
    "directory over a lower link": [
        [directory_entry("srv"), file_entry("srv/a.py", "a"), symlink("app", "/srv")],
        [file_entry("app/x.py", "x")],
    ],
    "file over a lower directory": [
        [directory_entry("d"), file_entry("d/a.py", "a")],
        [file_entry("d", "now a file")],
    ],
    "link to a lower file refused": [
        [file_entry("a.py", "a")],
        [hardlink("b.py", "a.py")],
    ],
    "write through own link refused": [
        [symlink("lib", "usr/lib"), file_entry("lib/x.py", "x")],
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_sequences_give_one_filesystem(tmp_path, name):
    layers = [layer_from_entries(entries) for entries in CASES[name]]
    reader, kernel = both(layers, tmp_path)
    assert reader == kernel


def test_the_decoy_layer_runs_and_reads_the_real_code(tmp_path):
    layers = [layer_from_entries(entries) for entries in CASES["hard-link decoy"]]
    reader, kernel = both(layers, tmp_path)
    assert reader["/app/main.py"] == kernel["/app/main.py"] == ("file", b"import yaml\n")


NAMES = st.sampled_from(["a.py", "b.py", "d", "d/a.py", "d/b.py", "d/e", "d/e/a.py", "e", "e/a.py"])


@st.composite
def entry(draw):
    path = draw(NAMES)
    kind = draw(st.sampled_from(["file", "dir", "link", "hardlink", "whiteout", "opaque"]))
    if kind == "file":
        return file_entry(path, draw(st.sampled_from(["one", "two", "three"])))
    if kind == "dir":
        return directory_entry(path)
    if kind == "link":
        return symlink(path, draw(st.sampled_from(["/d", "a.py", "../e"])))
    if kind == "hardlink":
        return hardlink(path, draw(NAMES))
    if kind == "whiteout":
        return whiteout(path)
    return opaque(path.rpartition("/")[0] or "d")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(entry(), min_size=1, max_size=6), min_size=1, max_size=3))
def test_generated_layers_give_one_filesystem(tmp_path_factory, layers):
    tmp = tmp_path_factory.mktemp("layers")
    blobs = [layer_from_entries(entries) for entries in layers]
    reader, kernel = both(blobs, tmp)
    assert reader == kernel
