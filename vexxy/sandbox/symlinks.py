"""The image's symbolic links, and path resolution through them as the container sees paths."""

from __future__ import annotations

import os
from pathlib import Path

MAX_HOPS = 40


def collect_symlinks(rootfs: Path) -> dict[str, str]:
    """Every symlink in the image: `/path` -> its target as written."""
    links = {}
    root = str(rootfs)
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                links["/" + os.path.relpath(full, root)] = os.readlink(full)
    return links


def resolve(path: str, symlinks: dict[str, str]) -> str:
    """The canonical path of `path` inside the image (every symlink followed, never above /)."""
    resolved: list[str] = []
    pending = [p for p in path.split("/") if p not in ("", ".")]
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = "/" + "/".join(resolved + [part])
        target = symlinks.get(candidate)
        if target is not None and hops < MAX_HOPS:
            hops += 1
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p not in ("", ".")] + pending
            continue
        resolved.append(part)
    return "/" + "/".join(resolved)
