"""The domain library's settings: its defaults, and the environment variables it reads (nowhere else).

Every default an operator can override is stated here once; the deployables (`vexxy_pipelines`,
`vexxy_api`) read these instead of writing their own.
"""

from __future__ import annotations

import os
from pathlib import Path

BUNDLED_OSV = Path(__file__).parent / "data" / "osv"

DEFAULT_OBSERVATION_SECONDS = 60  # how long a role is watched after it is ready, unless configured
DEFAULT_SANDBOX_MEMORY_MB = 512
DEFAULT_SANDBOX_CPU_MILLICORES = 1000
DEFAULT_SANDBOX_WRITABLE_MB = 256


def _text(name: str, default: str = "") -> str:
    return os.environ.get(name) or default


def vexxy_home() -> Path:
    return Path(_text("VEXXY_HOME") or Path.home() / ".vexxy").expanduser()


def cache_dir() -> Path:
    """Downloads that can be made again (base layers, the sandbox's unpacked layers)."""
    return Path(_text("VEXXY_CACHE_DIR") or Path.home() / ".cache" / "vexxy").expanduser()


def evidence_dir() -> Path:
    return Path(_text("VEXXY_EVIDENCE_DIR") or vexxy_home() / "evidence").expanduser()


def osv_source() -> str:
    return _text("VEXXY_OSV_SOURCE", str(BUNDLED_OSV))


def sandbox_state_dir() -> Path:
    return Path(_text("VEXXY_SANDBOX_STATE_DIR") or vexxy_home() / "sandbox").expanduser()


def sandbox_cache_dir() -> Path:
    return Path(_text("VEXXY_SANDBOX_CACHE_DIR") or cache_dir() / "sandbox").expanduser()


def debian_mirror() -> str:
    """The Debian mirror the demo's base layer is bootstrapped from ('' = debootstrap's default)."""
    return _text("VEXXY_DEBIAN_MIRROR")


def secrets_keys() -> str:
    """VEXXY_SECRETS_KEY: Fernet keys, comma-separated (the first encrypts, every one decrypts)."""
    return _text("VEXXY_SECRETS_KEY")


def allowed_registries() -> str:
    """VEXXY_ALLOWED_REGISTRIES: internal registries customers may name (see `vexxy.oci.egress`)."""
    return _text("VEXXY_ALLOWED_REGISTRIES")


def vex_author() -> str:
    """VEXXY_VEX_AUTHOR as written (bounded and checked by `vexxy.vex.provenance`)."""
    return _text("VEXXY_VEX_AUTHOR")
