"""Where vexxy keeps its state by default, overridable through the environment."""

from __future__ import annotations

import os
from pathlib import Path

BUNDLED_OSV = Path(__file__).parent / "data" / "osv"


def vexxy_home() -> Path:
    return Path(os.environ.get("VEXXY_HOME") or Path.home() / ".vexxy").expanduser()


def evidence_dir() -> Path:
    return Path(os.environ.get("VEXXY_EVIDENCE_DIR") or vexxy_home() / "evidence").expanduser()


def osv_source() -> str:
    return os.environ.get("VEXXY_OSV_SOURCE") or str(BUNDLED_OSV)


def sandbox_state_dir() -> Path:
    return Path(os.environ.get("VEXXY_SANDBOX_STATE_DIR") or vexxy_home() / "sandbox").expanduser()


def sandbox_cache_dir() -> Path:
    return Path(
        os.environ.get("VEXXY_SANDBOX_CACHE_DIR")
        or Path(os.environ.get("VEXXY_CACHE_DIR") or Path.home() / ".cache" / "vexxy") / "sandbox"
    ).expanduser()
