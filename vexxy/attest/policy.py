"""Which VEX documents are signed into the image's registry.

The signed attestation on an image's `.att` tag is what Trivy and cosign read for everyone pulling
the image, and they ignore how the analysis ran. A customer's configuration (a command override, an
environment, a role list) decides what the workload loads: `command: ["sleep", "3600"]` loads
nothing, and every component would come out `not_affected`. So only the image run as it says to run
is attested with the operator's key; a configured analysis keeps its VEX in its own results.
"""

from __future__ import annotations

from typing import Any

from vexxy.vex.openvex import configuration_named


def not_attestable(openvex: dict[str, Any]) -> str | None:
    """Why this document is not signed into the registry (None: it is)."""
    configuration = configuration_named(openvex)
    if configuration is None:
        return None
    return (
        f"skipped: the VEX comes from an analysis with a customer configuration ({configuration}); "
        "only an analysis of the image run as it is is attested in its registry"
    )
