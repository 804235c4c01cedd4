"""The leak check itself: it sees what a test leaves and refuses to read a failing inspection as clean."""

import os
import subprocess
import sys

import pytest
from host_leaks import InspectionFailed, left_behind, snapshot


def test_a_stray_process_and_leftover_files_are_reported(tmp_path):
    state, cache = tmp_path / "state", tmp_path / "cache"
    (cache / "layers").mkdir(parents=True)
    before = snapshot(state, cache)
    stray = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        (state / "runs" / "abc").mkdir(parents=True)  # a run directory left behind
        (state / "sandboxes").mkdir()  # the empty skeleton may stay
        (cache / "layers" / "sha256-complete").write_text("x")  # a complete cache entry may stay
        (cache / "layers" / "rootfs").mkdir()
        (cache / "layers" / "rootfs" / ".bashrc").write_text("")  # a root filesystem has dot-files of its own
        (cache / ".unpack-123").mkdir()  # work in progress may not
        leaks = left_behind(before, snapshot(state, cache), state, cache)
        assert any(entry.startswith(f"{stray.pid} ") for entry in leaks["processes"]), leaks["processes"]
        assert leaks["files"] == [str(cache / ".unpack-123"), str(state / "runs" / "abc")]
    finally:
        stray.kill()
        stray.wait()
    leaks = left_behind(before, snapshot(state, cache), state, cache)
    assert not any(entry.startswith(f"{stray.pid} ") for entry in leaks["processes"])


def test_a_failing_inspection_is_an_error_not_a_clean_host(tmp_path, monkeypatch):
    state = tmp_path / "state"
    state.mkdir()
    (state / "runc").write_text("not a runc root")  # `runc list` fails on it
    with pytest.raises(InspectionFailed, match="runc"):
        snapshot(state, tmp_path / "cache")
    (tmp_path / "not-a-directory").write_text("")  # a state directory that cannot be walked is not an empty one
    with pytest.raises(InspectionFailed, match="not-a-directory could not be read"):
        snapshot(tmp_path / "not-a-directory", tmp_path / "cache")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `ip` to ask
    with pytest.raises(InspectionFailed, match="ip netns list"):
        snapshot(tmp_path / "other-state", tmp_path / "cache")
    assert os.environ["PATH"] == str(tmp_path / "empty")
