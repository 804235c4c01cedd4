"""What a submission gets under its organization's tier, whoever submits it (the API, the Launchpad).

One place decides the observation window, whether the image is fuzzed, the run's priority and the
stored form of its configuration, so every way in applies the same limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.pricing import Tier, config_limits, run_priority
from vexxy.analysis_config import AnalysisConfig, ConfigError, check_limits
from vexxy.errors import VexxyError
from vexxy.secret_box import Sealed, seal_config

DEFAULT_OBSERVATION_SECONDS = 60


class TermsRefused(VexxyError):
    """The submission asks for what its tier does not include; `code` names which limit."""

    def __init__(self, code: str, message: str, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.code = code


@dataclass(frozen=True)
class SubmissionTerms:
    observation_seconds: int
    fuzzing: bool
    priority: int
    sealed: Sealed | None  # None: the image runs as it says to (no configuration)


def submission_terms(
    plan: Tier,
    *,
    observation_seconds: int | None,
    fuzzing: bool,
    fuzzing_asked: bool,
    priority: int,
    config: AnalysisConfig | None,
) -> SubmissionTerms:
    """`fuzzing_asked`: the submitter said so explicitly (refused on a tier without fuzzing, not silently dropped)."""
    observation = observation_seconds or min(DEFAULT_OBSERVATION_SECONDS, plan.max_observation_seconds)
    if observation > plan.max_observation_seconds:
        raise TermsRefused(
            "observation_too_long",
            f"The {plan.name} tier observes for at most {plan.max_observation_seconds} s.",
            hint="Ask for less, or upgrade.",
        )
    if fuzzing and fuzzing_asked and not plan.fuzzing_included:
        raise TermsRefused(
            "fuzzing_not_included",
            f"Fuzzing is not included in the {plan.name} tier.",
            hint="Submit with fuzzing false, or upgrade.",
        )
    configured = config is not None and config != AnalysisConfig()
    sealed = None
    if configured:
        try:
            check_limits(config, config_limits(plan), observation)
            sealed = seal_config(config)
        except ConfigError as exc:
            raise TermsRefused("invalid_configuration", exc.message, hint=exc.hint) from None
    if config is not None and config.fuzzing is not None:
        fuzzing = config.fuzzing
    return SubmissionTerms(observation, fuzzing and plan.fuzzing_included, run_priority(plan, priority), sealed)
