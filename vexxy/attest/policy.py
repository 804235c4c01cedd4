"""Which VEX documents are signed into the image's registry, and which attached one a new one may replace.

The signed attestation on an image's `.att` tag is what Trivy and cosign read for everyone pulling
the image, and they ignore how the analysis ran. A customer's configuration (a command override, an
environment, a role list) decides what the workload loads: `command: ["sleep", "3600"]` loads
nothing, and every component would come out `not_affected`. So only the image run as it says to run
is attested with the operator's key; a configured analysis keeps its VEX in its own results.

The same holds between two analyses of the image: a VEX from weaker evidence (no web scan where the
attested one had one, a shorter observation, an incomplete profile) or from other settings (another
configuration or role list) never replaces the attested one. What an attestation's evidence rests on
travels as annotations of its layer in the `.att` manifest (`dev.vexxy.evidence.*`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vexxy.vex.openvex import configuration_named

_FUZZING_RANK = {"none": 0, "partial": 1, "completed": 2}
ANNOTATION_PREFIX = "dev.vexxy.evidence."


def not_attestable(openvex: dict[str, Any]) -> str | None:
    """Why this document is not signed into the registry (None: it is)."""
    configuration = configuration_named(openvex)
    if configuration is None:
        return None
    return (
        f"skipped: the VEX comes from an analysis with a customer configuration ({configuration}); "
        "only an analysis of the image run as it is is attested in its registry"
    )


@dataclass(frozen=True)
class EvidenceStrength:
    """The settings and outcomes of an analysis that change what its VEX can say."""

    configuration: str  # the configuration's hash; "none": the image run as it says to run
    roles: tuple[str, ...]
    fuzzing: str  # completed | partial | none (skipped, failed or not requested)
    observation_seconds: int  # the configured observation window, summed over the roles
    complete: bool  # every role's profile was complete

    def to_annotations(self) -> dict[str, str]:
        return {
            ANNOTATION_PREFIX + "configuration": self.configuration,
            ANNOTATION_PREFIX + "roles": ",".join(self.roles),
            ANNOTATION_PREFIX + "fuzzing": self.fuzzing,
            ANNOTATION_PREFIX + "observation-seconds": str(self.observation_seconds),
            ANNOTATION_PREFIX + "profile": "complete" if self.complete else "partial",
        }

    @classmethod
    def from_annotations(cls, annotations: dict[str, str]) -> EvidenceStrength | None:
        """The strength an attestation's annotations state; None when they state none (or not readably)."""
        values = {k.removeprefix(ANNOTATION_PREFIX): v for k, v in annotations.items() if k.startswith(ANNOTATION_PREFIX)}
        if not values:
            return None
        window = values.get("observation-seconds", "")
        if (
            not values.get("configuration")
            or values.get("fuzzing") not in _FUZZING_RANK
            or not window.isdigit()
            or values.get("profile") not in ("complete", "partial")
        ):
            return None
        return cls(
            configuration=values["configuration"],
            roles=tuple(r for r in values.get("roles", "").split(",") if r),
            fuzzing=values["fuzzing"],
            observation_seconds=int(window),
            complete=values["profile"] == "complete",
        )


def strength_of(profile: dict[str, Any] | None, fuzz_findings: dict[str, Any] | None) -> EvidenceStrength:
    """What an analysis's execution profile and fuzz findings show it rests on (no profile: nothing observed)."""
    profile = profile or {}
    status = (fuzz_findings or {}).get("status")
    window = (profile.get("window") or {}).get("configured_seconds")
    return EvidenceStrength(
        configuration=(profile.get("analysis_config") or {}).get("hash") or "none",
        roles=tuple(r.get("name", "") for r in profile.get("roles") or [] if isinstance(r, dict)),
        fuzzing=status if status in ("completed", "partial") else "none",
        observation_seconds=int(window) if isinstance(window, int | float) and not isinstance(window, bool) else 0,
        complete=profile.get("complete") is True,
    )


def weaker(new: EvidenceStrength, attested: EvidenceStrength) -> str | None:
    """Why a VEX from `new` evidence may not replace one attested from `attested` evidence (None: it may).

    It may only when it ran the same way (configuration, roles) and is at least as strong in every
    respect: web scanning, observation window, profile completeness. Equal evidence replaces (the
    same analysis re-evaluated against newer advisories)."""
    if new.configuration != attested.configuration:
        return f"it ran with another configuration ({new.configuration}) than the attested one ({attested.configuration})"
    if new.roles != attested.roles:
        return f"it observed other roles ({', '.join(new.roles)}) than the attested one ({', '.join(attested.roles)})"
    if _FUZZING_RANK[new.fuzzing] < _FUZZING_RANK[attested.fuzzing]:
        return f"its web scan is {new.fuzzing}, the attested analysis's was {attested.fuzzing}"
    if new.observation_seconds < attested.observation_seconds:
        return f"it observed for {new.observation_seconds} s, the attested analysis for {attested.observation_seconds} s"
    if attested.complete and not new.complete:
        return "its execution profile is partial, the attested analysis's was complete"
    return None
