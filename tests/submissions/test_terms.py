"""What a submission gets under its tier is the same whoever submits it (API, Launchpad, registry watch)."""

import pytest

from billing.pricing import TIERS
from submissions.terms import TermsRefused, submission_terms
from vexxy.config.model import AnalysisConfig

FREE, TEAM = TIERS["free"], TIERS["team"]


def terms(plan, **given):
    asked = {"observation_seconds": None, "fuzzing": True, "fuzzing_asked": False, "priority": 0, "config": None}
    return submission_terms(plan, **{**asked, **given})


def test_defaults_follow_the_tier():
    free, team = terms(FREE), terms(TEAM)
    assert (free.observation_seconds, free.fuzzing, free.priority, free.sealed) == (60, False, 0, None)
    assert (team.observation_seconds, team.fuzzing, team.priority) == (60, True, 10)
    assert terms(TEAM, priority=99).priority == 19  # clamped into the band


def test_what_the_tier_does_not_include_is_refused_naming_the_limit():
    with pytest.raises(TermsRefused, match="observes for at most 60 s") as error:
        terms(FREE, observation_seconds=61)
    assert error.value.code == "observation_too_long"
    with pytest.raises(TermsRefused, match="Fuzzing is not included in the free tier") as error:
        terms(FREE, fuzzing_asked=True)
    assert error.value.code == "fuzzing_not_included"
    too_many = AnalysisConfig.model_validate({"roles": [{"name": f"r{i}", "command": ["true"]} for i in range(3)]})
    with pytest.raises(TermsRefused) as error:
        terms(FREE, config=too_many)
    assert error.value.code == "invalid_configuration"


def test_a_configuration_is_sealed_and_its_fuzzing_setting_wins():
    configured = terms(TEAM, config=AnalysisConfig.model_validate({"env": {"FEATURE_X": "1"}, "fuzzing": False}))
    assert configured.sealed is not None and configured.sealed.hash and configured.fuzzing is False
    assert terms(TEAM, config=AnalysisConfig()).sealed is None  # an empty configuration is the default one
