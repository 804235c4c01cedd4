"""The run's root filesystem: the image's shared layers, read-only, under a writable upper dir on a sized tmpfs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from vexxy.sandbox.local.errors import SandboxError
from vexxy.sandbox.state import SandboxPaths
from vexxy.sandbox.userns import ID_SHIFT


def mount_root(paths: SandboxPaths, sandbox_id: str, run_dir: Path, layers: list[Path], writable_bytes: int) -> Path:
    """Mount the run's overlay root and return where it is.

    It is mounted where the container's root user (an unprivileged host uid) can reach it, with short
    links to the layers so that many layers fit in the mount options (as Docker's overlay2 does)."""
    paths.make_run_dir(sandbox_id)
    scratch, links = run_dir / "scratch", run_dir / "l"
    merged = paths.rootfs_mount(sandbox_id)
    for directory in (scratch, links, merged):
        directory.mkdir(parents=True, exist_ok=True)
    for parent in (merged.parent, merged.parent.parent):
        parent.chmod(0o711)
    _check(
        ["mount", "-t", "tmpfs", "-o", f"size={writable_bytes},mode=0755", f"vexxy-{sandbox_id}", str(scratch)],
        "mount the scratch tmpfs",
    )
    (scratch / "upper").mkdir()
    (scratch / "work").mkdir()
    os.chown(scratch / "upper", ID_SHIFT, ID_SHIFT)  # the image's / belongs to the container's root
    for index, layer in enumerate(layers):
        (links / str(index)).symlink_to(layer)
    lower = ":".join(str(index) for index in reversed(range(len(layers))))  # uppermost first
    options = f"lowerdir={lower},upperdir={scratch / 'upper'},workdir={scratch / 'work'}"
    _check(
        ["mount", "-t", "overlay", "-o", options, f"vexxy-{sandbox_id}", str(merged)],
        "mount the overlay root",
        cwd=links,
    )
    return merged


def _check(command: list[str], what: str, cwd: Path | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        raise SandboxError(f"Could not {what}: {result.stderr.strip() or result.stdout.strip()}")
