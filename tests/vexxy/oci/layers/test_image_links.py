"""An image's symbolic links read from its layer headers: whiteouts and opaque directories apply, escapes are refused."""

import io
import tarfile

import pytest

from vexxy.oci.layers.entries import UnsafeLayer
from vexxy.oci.layers.image_links import apply_layer
from vexxy.oci.layers.merged import LayerFiles


def layer(*entries):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, target in entries:
            info = tarfile.TarInfo(name)
            if target is not None:
                info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info, io.BytesIO(b""))
    buffer.seek(0)
    return buffer


def test_symlinks_from_layer_headers_follow_whiteouts_and_refuse_escapes():
    files = LayerFiles()
    apply_layer(files, layer(("lib", "usr/lib"), ("etc/alternatives/python", "/usr/bin/python3.11"), ("opt/x/a", "b")), "1")
    apply_layer(files, layer(("etc/alternatives/.wh.python", None), ("opt/x/.wh..wh..opq", None), ("opt/x/c", "d")), "2")
    apply_layer(files, layer(("bin", "usr/bin"), ("lib", None)), "3")  # a directory replaces the link
    assert files.symlinks == {"/bin": "usr/bin", "/opt/x/c": "d"}
    with pytest.raises(UnsafeLayer, match="climbs out of the root"):
        apply_layer(files, layer(("../evil", "/etc")), "4")
