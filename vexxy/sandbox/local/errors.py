"""How the local sandbox fails on its own account, as opposed to the workload misbehaving."""

from __future__ import annotations

from vexxy.errors import VexxyError


class SandboxError(VexxyError):
    """The sandbox itself could not be set up (not the workload misbehaving)."""


class SandboxRemoved(SandboxError):
    """Someone else removed the sandbox while it was observed: the profile would be cut short."""
