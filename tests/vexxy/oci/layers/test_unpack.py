"""Layer application: overlay whiteouts and opaque directories, links, limits, escapes, digests, ownership."""

import contextlib
import gzip
import io
import os
import stat
import subprocess
import tarfile

import pytest
from sandbox_images import symlink_entry

from vexxy.oci.build import EPOCH, directory_entry, file_entry, layer_from_entries
from vexxy.oci.layers.entries import UnsafeLayer
from vexxy.oci.layers.unpack import OPAQUE_XATTR, Budget, unpack_layer

LARGE = Budget(max_bytes=1 << 30, max_entries=1 << 20)


def hardlink_entry(path, target):
    info = tarfile.TarInfo(path)
    info.type, info.linkname, info.mtime = tarfile.LNKTYPE, target, EPOCH
    return info


def unpack(tmp_path, name, entries, budget=LARGE, id_shift=0):
    blob = layer_from_entries(entries)
    root = tmp_path / name
    root.mkdir()
    with gzip.open(io.BytesIO(blob.data)) as stream:
        diff_id, report = unpack_layer(stream, root, name, budget, id_shift)
    assert diff_id == blob.diff_id  # the stream's own digest, end-of-archive padding included
    return root, report


@contextlib.contextmanager
def stacked(tmp_path, *layers):
    """The layers as the sandbox sees them: a read-only overlay, uppermost last in `layers`."""
    merged = tmp_path / "merged"
    merged.mkdir()
    lower = ":".join(str(layer) for layer in reversed(layers))
    subprocess.run(["mount", "-t", "overlay", "-o", f"lowerdir={lower}", "vexxy-test", str(merged)], check=True)
    try:
        yield merged
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def test_whiteouts_and_opaque_directories_in_overlay_format(tmp_path):
    base, _ = unpack(
        tmp_path,
        "base",
        [
            directory_entry("etc"),
            file_entry("etc/a", "a"),
            file_entry("etc/b", "b"),
            directory_entry("opt"),
            file_entry("opt/old", "o"),
        ],
    )
    top, _ = unpack(
        tmp_path,
        "top",
        [file_entry("etc/.wh.a", ""), directory_entry("opt"), file_entry("opt/.wh..wh..opq", ""), file_entry("opt/new", "n")],
    )
    whiteout = os.lstat(top / "etc" / "a")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == os.makedev(0, 0)
    assert os.getxattr(top / "opt", OPAQUE_XATTR) == b"y"
    assert (base / "etc" / "a").read_text() == "a"  # the lower layer itself is never changed
    with stacked(tmp_path, base, top) as merged:
        assert sorted(p.name for p in (merged / "etc").iterdir()) == ["b"]
        assert sorted(p.name for p in (merged / "opt").iterdir()) == ["new"]


def test_hard_links_stay_inside_their_layer(tmp_path):
    root, _ = unpack(
        tmp_path,
        "links",
        [
            directory_entry("usr"),
            directory_entry("usr/lib"),
            symlink_entry("lib", "usr/lib"),
            file_entry("usr/lib/libx.so.1", "elf"),
            hardlink_entry("usr/lib/libz.so", "usr/lib/libx.so.1"),
            file_entry("usr/lib/libx.so.1", "rewritten"),  # the link keeps what it was linked to
        ],
    )
    assert (root / "lib").is_symlink()
    assert (root / "usr/lib/libz.so").read_text() == "elf"
    assert (root / "usr/lib/libx.so.1").read_text() == "rewritten"
    with pytest.raises(UnsafeLayer, match="not a file the same layer wrote before it"):
        unpack(tmp_path, "cross", [hardlink_entry("stolen", "usr/lib/libx.so.1")])
    with pytest.raises(UnsafeLayer, match="not a file the same layer wrote before it"):
        unpack(tmp_path, "through-link", [symlink_entry("lib", "usr/lib"), hardlink_entry("x", "lib/libx.so.1")])


def test_an_entry_beneath_the_layers_own_symlink_is_refused(tmp_path):
    """Following the link or replacing it would give two filesystems; the import reader refuses it too."""
    with pytest.raises(UnsafeLayer, match="which the same layer made a symbolic link"):
        unpack(tmp_path, "through", [symlink_entry("lib", "usr/lib"), file_entry("lib/liby.so.1", "elf2")])


def test_a_whiteout_cannot_name_the_directory_itself(tmp_path):
    with pytest.raises(UnsafeLayer, match="hides no file"):
        unpack(tmp_path, "whiteout", [directory_entry("etc"), file_entry("etc/.wh...", "")])


def test_a_symlink_loop_is_refused(tmp_path):
    with pytest.raises(UnsafeLayer, match="beneath '/a', which the same layer made a symbolic link"):
        unpack(tmp_path, "loop", [symlink_entry("a", "b"), symlink_entry("b", "a"), file_entry("a/b/file", "x")])


def test_size_limit_counts_earlier_layers(tmp_path):
    with pytest.raises(UnsafeLayer, match="more than 0 MiB"):
        unpack(tmp_path, "big", [file_entry("big", "x" * 2048)], budget=Budget(1024, 100))
    with pytest.raises(UnsafeLayer, match="more than 0 MiB"):
        unpack(tmp_path, "small", [file_entry("small", "x" * 10)], budget=Budget(1024, 100, bytes_before=1020))


def test_a_hundred_thousand_empty_files_are_refused_by_the_entry_limit(tmp_path):
    entries = [directory_entry("d")] + [file_entry(f"d/{i}", b"") for i in range(100_000)]
    blob = layer_from_entries(entries)
    assert len(blob.data) < (1 << 20) * 1.5  # about a megabyte compressed
    root = tmp_path / "flood"
    root.mkdir()
    with gzip.open(io.BytesIO(blob.data)) as stream, pytest.raises(UnsafeLayer, match="more than 65536 files and directories"):
        unpack_layer(stream, root, "flood", Budget(max_bytes=1 << 30, max_entries=65_536))
    with pytest.raises(UnsafeLayer, match="more than 10 files and directories"):
        unpack(tmp_path, "earlier", [file_entry("one", "1")], budget=Budget(1 << 30, 10, entries_before=10))


def test_ownership_is_shifted_into_the_sandbox_range(tmp_path):
    owned = file_entry("home/app/data", "x")
    owned[0].uid, owned[0].gid = 1000, 1000
    huge = file_entry("odd", "y")
    huge[0].uid = huge[0].gid = 1 << 20
    root, _ = unpack(tmp_path, "owners", [directory_entry("home"), owned, huge, symlink_entry("link", "odd")], id_shift=100_000)
    assert (os.stat(root).st_uid, os.stat(root).st_gid) == (100_000, 100_000)
    assert os.stat(root / "home").st_uid == 100_000
    assert (os.stat(root / "home/app").st_uid, os.stat(root / "home/app/data").st_uid) == (100_000, 101_000)
    assert os.stat(root / "odd").st_uid == 165_534  # ids the namespace cannot map become `nobody`
    assert os.lstat(root / "link").st_uid == 100_000


def test_the_diff_id_is_the_hash_of_the_whole_uncompressed_stream(tmp_path):
    blob = layer_from_entries([file_entry("f", "1")])
    raw = gzip.decompress(blob.data)
    root = tmp_path / "padded"
    root.mkdir()
    diff_id, _ = unpack_layer(io.BytesIO(raw + b"\0" * 10240), root, "padded", LARGE)
    assert diff_id != blob.diff_id  # extra padding after the archive changes the digest
