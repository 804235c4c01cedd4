"""The tracer identifies each code file by content as it is opened, on a real filesystem with a real
fanotify mark: a renamed, copied or zipped file keeps the identity of what it was copied from."""

import hashlib
import os
import shutil
import subprocess
import time
import zipfile

import pytest

from vexxy.oci.layers.identity import CHANGED_MARK, UNREAD_MARK
from vexxy.sandbox.tracer import FileTracer

SOURCE = b"# a module\n" + b"def load(stream):\n    return stream\n" * 10


@pytest.fixture
def mounted(tmp_path):
    """A filesystem of its own (the tracer marks whole filesystems, as it marks the run's overlay)."""
    root = tmp_path / "fs"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "vexxy-tracer-test", str(root)], check=True)
    try:
        yield root
    finally:
        subprocess.run(["umount", str(root)], check=True)


def settle(tracer, expected, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tracer.drain()
        if expected():
            return
        time.sleep(0.05)


def test_each_code_file_opened_is_identified_by_content(mounted):
    package = mounted / "site" / "yaml"
    package.mkdir(parents=True)
    (package / "loader.py").write_bytes(SOURCE)
    (mounted / "data.txt").write_text("not code")
    tracer = FileTracer(str(mounted))
    try:
        (package / "loader.py").read_bytes()
        settle(tracer, lambda: "/site/yaml/loader.py" in tracer.opens)  # (a path is read when the event is)
        os.rename(package / "loader.py", mounted / "moved.py")  # a rename opens nothing...
        (mounted / "moved.py").read_bytes()  # ...but the renamed file, once loaded, is seen by what it is
        shutil.copy(mounted / "moved.py", mounted / "copy.py")
        (mounted / "copy.py").read_bytes()
        with zipfile.ZipFile(mounted / "bundle.zip", "w") as bundle:
            bundle.write(mounted / "copy.py", "vendored/loader.py")
        (mounted / "bundle.zip").read_bytes()
        (mounted / "data.txt").read_text()
        settle(tracer, lambda: "/bundle.zip" in tracer.opens and "/data.txt" in tracer.opens)
    finally:
        tracer.stop()
    digest = hashlib.sha256(SOURCE).hexdigest()
    assert tracer.opens["/site/yaml/loader.py"].identities == {digest}
    assert tracer.opens["/moved.py"].identities == {digest}
    empty = hashlib.sha256(b"").hexdigest()  # (the copy's open for writing may be read while it is still empty)
    assert tracer.opens["/copy.py"].identities - {empty} == {digest, CHANGED_MARK}  # written during the run
    # (the open for writing may add the identity of the file as it was then, empty or half written)
    (archive,) = [i for i in tracer.opens["/bundle.zip"].identities if i in tracer.identities and tracer.identities[i].members]
    assert tracer.identities[archive].kind == "archive"
    assert tracer.identities[archive].members == (("vendored/loader.py", digest),)
    (data,) = tracer.opens["/data.txt"].identities  # not code: identified only to be matched by content
    assert tracer.identities[data].kind == "data"
    assert tracer.identities[digest].size == len(SOURCE)


def test_a_file_rewritten_after_it_was_loaded_keeps_both_contents(mounted):
    module = mounted / "app.py"
    module.write_bytes(SOURCE)
    tracer = FileTracer(str(mounted))
    try:
        module.read_bytes()
        settle(tracer, lambda: "/app.py" in tracer.opens)
        module.write_bytes(SOURCE + b"# changed\n")
        module.read_bytes()
        both = {hashlib.sha256(SOURCE).hexdigest(), hashlib.sha256(SOURCE + b"# changed\n").hexdigest()}
        settle(tracer, lambda: both <= tracer.opens["/app.py"].identities)
    finally:
        tracer.stop()
    assert both <= tracer.opens["/app.py"].identities  # (the open for writing may add the emptied file's)


def test_a_file_replaced_before_its_event_is_read_keeps_its_path(mounted):
    """The interpreter writes a cache by renaming a new file over the old one: the old one's open is still
    recorded at its path, not as `... (deleted)`."""
    cache = mounted / "__pycache__"
    cache.mkdir()
    (cache / "m.cpython-311.pyc").write_bytes(SOURCE)
    tracer = FileTracer(str(mounted))
    try:
        with open(cache / "m.cpython-311.pyc", "rb") as old:
            old.read()
            (cache / "new").write_bytes(SOURCE + b"new")
            os.rename(cache / "new", cache / "m.cpython-311.pyc")
        settle(tracer, lambda: tracer.opens.get("/__pycache__/m.cpython-311.pyc", None) is not None)
    finally:
        tracer.stop()
    assert not [p for p in tracer.opens if p.endswith("(deleted)")]
    assert "/__pycache__/m.cpython-311.pyc" in tracer.opens


def test_a_zip_under_a_data_name_and_a_module_read_as_text_are_identified(mounted):
    (mounted / "vendor.bin").write_bytes(b"#!/usr/bin/python3\n")
    with zipfile.ZipFile(mounted / "vendor.bin", "a") as bundle:  # appended after the `#!` line, as zipapp does
        bundle.writestr("yaml/loader.py", SOURCE)
    (mounted / "loader.txt").write_bytes(SOURCE)
    tracer = FileTracer(str(mounted))
    try:
        (mounted / "vendor.bin").read_bytes()
        (mounted / "loader.txt").read_bytes()
        settle(tracer, lambda: "/vendor.bin" in tracer.opens and "/loader.txt" in tracer.opens)
    finally:
        tracer.stop()
    digest = hashlib.sha256(SOURCE).hexdigest()
    (archive,) = tracer.opens["/vendor.bin"].identities
    assert tracer.identities[archive].kind == "archive"
    assert tracer.identities[archive].members == (("yaml/loader.py", digest),)
    assert tracer.opens["/loader.txt"].identities == {digest}


def test_a_file_written_through_another_name_after_it_was_opened_is_marked_changed(mounted):
    """Write PyYAML's code over a file, load it, write the old content back through a hard link before the
    tracer reads it: the file is marked changed, whichever name the writes went through."""
    module = mounted / "helper.py"
    module.write_bytes(SOURCE)
    os.link(module, mounted / "other-name")
    untouched = mounted / "untouched.py"
    untouched.write_bytes(SOURCE)
    tracer = FileTracer(str(mounted))
    try:
        module.read_bytes()
        untouched.read_bytes()
        settle(tracer, lambda: "/helper.py" in tracer.opens and "/untouched.py" in tracer.opens)
        (mounted / "other-name").write_bytes(SOURCE)
        settle(tracer, lambda: CHANGED_MARK in tracer.opens["/helper.py"].identities)
    finally:
        tracer.stop()
    assert CHANGED_MARK in tracer.opens["/helper.py"].identities
    assert CHANGED_MARK not in tracer.opens["/untouched.py"].identities


def test_code_too_large_to_read_is_marked_unread(mounted, monkeypatch):
    monkeypatch.setattr("vexxy.sandbox.tracer.MAX_IDENTIFIED_BYTES", 64)
    (mounted / "big.py").write_bytes(SOURCE)
    tracer = FileTracer(str(mounted))
    try:
        (mounted / "big.py").read_bytes()
        settle(tracer, lambda: "/big.py" in tracer.opens)
    finally:
        tracer.stop()
    assert tracer.opens["/big.py"].identities == {UNREAD_MARK}
