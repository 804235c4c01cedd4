"""Reading an unpacked image: inside its root only, regular files only, bounded."""

import os

import pytest

from vexxy.imports.image_files import ImageFiles


def test_reads_go_through_the_image_links_and_never_out_of_it(tmp_path):
    root = tmp_path / "root"
    (root / "usr/app").mkdir(parents=True)
    (root / "usr/app/main.py").write_text("import yaml\n")
    (tmp_path / "host.py").write_text("host\n")
    os.symlink("usr/app", root / "app")  # relative, inside the image
    os.symlink("/usr/app/main.py", root / "entry.py")  # absolute: restarts at the image root
    os.symlink(tmp_path / "host.py", root / "escape.py")
    image = ImageFiles(root)
    assert image.read_bytes("/app/main.py") == b"import yaml\n"
    assert image.read_bytes("/entry.py") == b"import yaml\n"
    assert image.canonical("/app/main.py") == "/usr/app/main.py"
    with pytest.raises(OSError):
        image.read_bytes("/escape.py")
    # a link the image's link table does not know (added after it was taken) is still not followed
    stale = ImageFiles(root, symlinks={})
    with pytest.raises(OSError):
        stale.read_bytes("/app/main.py")
    assert not stale.is_dir("/app")


def test_only_regular_files_within_the_size_limit_are_read(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big.py").write_bytes(b"x" * 1025)
    (tmp_path / "dir").mkdir()
    image = ImageFiles(tmp_path)
    with pytest.raises(OSError, match="not a regular file"):
        image.read_bytes("/fifo")
    with pytest.raises(OSError, match="1025 bytes, more than 1024"):
        image.read_bytes("/big.py", limit=1024)
    with pytest.raises(OSError):
        image.read_bytes("/dir")
    assert image.read_bytes("/big.py", limit=2048) == b"x" * 1025
    assert image.head("/big.py", 4) == b"xxxx" and image.head("/missing") == b""


def test_walks_skip_links_and_stop_at_the_limit(tmp_path):
    for index in range(5):
        (tmp_path / "app" / f"d{index}").mkdir(parents=True)
        (tmp_path / "app" / f"d{index}" / "m.py").write_text("")
    os.symlink(tmp_path / "app", tmp_path / "app" / "loop")
    image = ImageFiles(tmp_path)
    assert len(list(image.walk_files("/app", lambda name, path: False, limit=100))) == 5
    assert len(list(image.walk_files("/app", lambda name, path: False, limit=3))) == 3
    assert list(image.walk_files("/app", lambda name, path: name == "d0", limit=100)) == [
        f"/app/d{index}/m.py" for index in range(1, 5)
    ]
