"""What a submission gets under its organization's tier, whoever submits it (`submissions.service.submit`).

One place decides the observation window, whether the image is fuzzed, the run's priority and the
stored form of its configuration, so every way in applies the same limits. The tier's facts
(bands, windows, what a configuration may ask for) are `billing.pricing`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.limits import check_limits
from billing.pricing import Tier, config_limits, run_priority
from vexxy.config.model import AnalysisConfig, ConfigError
from vexxy.config.secret_box import Sealed, seal_config
from vexxy.errors import VexxyError
from vexxy.settings import DEFAULT_OBSERVATION_SECONDS


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


def unconfigured_terms(plan: Tier, *, observation_seconds: int | None, fuzzing: bool, priority: int) -> SubmissionTerms:
    """The terms a refused submission is recorded with: what it asked for within the tier, without its configuration."""
    observation = min(observation_seconds or DEFAULT_OBSERVATION_SECONDS, plan.max_observation_seconds)
    return SubmissionTerms(observation, fuzzing and plan.fuzzing_included, run_priority(plan, priority), None)
