"""The image's symbolic links, and path resolution through them as the container sees paths."""

from __future__ import annotations

import os
from collections.abc import Callable
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


class TooManyLinks(Exception):
    """More than MAX_HOPS symbolic links on one path (a loop, or a hostile chain)."""


def walk(parts: list[str], read_link: Callable[[list[str]], str | None], follow_last: bool = True) -> list[str]:
    """Resolve `parts` the way the kernel does inside a chroot: `..` never climbs above the root and an
    absolute link target restarts from it. `read_link(prefix)` gives a component's link target, or None."""
    resolved: list[str] = []
    pending = [p for p in parts if p not in ("", ".")]
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        target = read_link(resolved + [part]) if (pending or follow_last) else None
        if target is not None:
            hops += 1
            if hops > MAX_HOPS:
                raise TooManyLinks("/" + "/".join(parts))
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p not in ("", ".")] + pending
            continue
        resolved.append(part)
    return resolved


def resolve(path: str, symlinks: dict[str, str]) -> str:
    """The canonical path of `path` inside the image (every symlink followed; a link loop leaves the path as written)."""
    try:
        return "/" + "/".join(walk(path.split("/"), lambda prefix: symlinks.get("/" + "/".join(prefix))))
    except TooManyLinks:
        return path
