"""Layer application: whiteouts, opaque directories, links, limits, escapes."""

import functools
import gzip
import io
import tarfile

import pytest
from sandbox_images import symlink_entry

from vexxy.oci.build import EPOCH, directory_entry, file_entry, layer_from_entries
from vexxy.sandbox.rootfs import UnsafeLayer, chain_id, unpack_layers


def hardlink_entry(path, target):
    info = tarfile.TarInfo(path)
    info.type, info.linkname, info.mtime = tarfile.LNKTYPE, target, EPOCH
    return info


def unpack(tmp_path, *entry_lists, limit=1 << 30):
    blobs = [layer_from_entries(entries) for entries in entry_lists]
    openers = [(blob.digest, functools.partial(gzip.open, io.BytesIO(blob.data))) for blob in blobs]
    return unpack_layers(openers, tmp_path / "cache", chain_id([blob.diff_id for blob in blobs]), limit)


def test_whiteouts_and_opaque_directories(tmp_path):
    root, _ = unpack(
        tmp_path,
        [
            directory_entry("etc"),
            file_entry("etc/a", "a"),
            file_entry("etc/b", "b"),
            directory_entry("opt"),
            file_entry("opt/old", "o"),
        ],
        [file_entry("etc/.wh.a", ""), directory_entry("opt"), file_entry("opt/.wh..wh..opq", ""), file_entry("opt/new", "n")],
    )
    assert sorted(p.name for p in (root / "etc").iterdir()) == ["b"]
    assert sorted(p.name for p in (root / "opt").iterdir()) == ["new"]


def test_hard_links_and_usrmerge_symlinks(tmp_path):
    root, _ = unpack(
        tmp_path,
        [
            directory_entry("usr"),
            directory_entry("usr/lib"),
            symlink_entry("lib", "usr/lib"),
            file_entry("usr/lib/libx.so.1", "elf"),
        ],
        [file_entry("lib/liby.so.1", "elf2"), hardlink_entry("usr/lib/libz.so", "lib/libx.so.1")],
    )
    assert (root / "usr/lib/liby.so.1").read_text() == "elf2"  # written through the lower layer's symlink
    assert (root / "lib").is_symlink()
    assert (root / "usr/lib/libz.so").stat().st_ino == (root / "usr/lib/libx.so.1").stat().st_ino


def test_a_symlink_loop_is_refused(tmp_path):
    with pytest.raises(UnsafeLayer, match="Too many levels of symbolic links under /a/b"):
        unpack(tmp_path, [symlink_entry("a", "b"), symlink_entry("b", "a"), file_entry("a/b/file", "x")])


def test_size_limit(tmp_path):
    with pytest.raises(UnsafeLayer, match="more than 0 MiB"):
        unpack(tmp_path, [file_entry("big", "x" * 2048)], limit=1024)


def test_failed_unpack_leaves_no_cache_entry(tmp_path):
    with pytest.raises(UnsafeLayer):
        unpack(tmp_path, [file_entry("ok", "1"), file_entry("../bad", "2")])
    assert list((tmp_path / "cache").iterdir()) == []


def test_unpacked_rootfs_is_reused(tmp_path):
    first, report = unpack(tmp_path, [file_entry("f", "1")])
    again, second_report = unpack(tmp_path, [file_entry("f", "1")])
    assert first == again and report.files == 1 and second_report.files == 0
