"""An HTTP route an image's own code declares: what the import reader finds, a sandbox backend hands on and the
fuzzers exercise (a value of its own, so that none of them imports another for it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeclaredRoute:
    method: str  # upper case
    path: str  # absolute, `{name}` for parameters
    where: str  # path:line
