"""What a tier includes of an analysis configuration: roles, observation window, fuzzing."""

from __future__ import annotations

from dataclasses import dataclass

from vexxy.config.model import AnalysisConfig, ConfigError


@dataclass(frozen=True)
class TierLimits:
    name: str
    max_observation_seconds: int
    fuzzing_included: bool
    max_roles: int


def check_limits(config: AnalysisConfig, limits: TierLimits, observation_default: int) -> None:
    """Refuse what the tier does not include: more roles, longer windows, fuzzing."""
    roles = config.effective_roles()
    if len(roles) > limits.max_roles:
        raise ConfigError(
            f"The {limits.name} tier analyzes at most {limits.max_roles} role(s) per analysis; this one has {len(roles)}.",
            hint="Configure fewer roles, or upgrade.",
        )
    for role in roles:
        window = role.observation_seconds or observation_default
        if window > limits.max_observation_seconds:
            raise ConfigError(
                f"Role {role.name} asks for {window} s of observation; the {limits.name} tier observes for at most "
                f"{limits.max_observation_seconds} s.",
                hint="Ask for less, or upgrade.",
            )
    if config.fuzzing and not limits.fuzzing_included:
        raise ConfigError(f"Fuzzing is not included in the {limits.name} tier.", hint="Set fuzzing false, or upgrade.")
