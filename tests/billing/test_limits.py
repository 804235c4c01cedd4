"""What each tier includes of an analysis configuration."""

import pytest

from billing.limits import check_limits
from billing.pricing import TIERS, config_limits
from vexxy.config.model import ConfigError, parse


def test_tier_limits():
    free, team = config_limits(TIERS["free"]), config_limits(TIERS["team"])
    three_roles = parse({"roles": [{"name": "a"}, {"name": "b"}, {"name": "c"}]})
    with pytest.raises(ConfigError, match="The free tier analyzes at most 2 role"):
        check_limits(three_roles, free, 60)
    check_limits(three_roles, team, 60)
    with pytest.raises(ConfigError, match="Role b asks for 120 s of observation; the free tier observes for at most 60 s"):
        check_limits(parse({"roles": [{"name": "a"}, {"name": "b", "observation_seconds": 120}]}), free, 60)
    with pytest.raises(ConfigError, match="Fuzzing is not included in the free tier"):
        check_limits(parse({"fuzzing": True}), free, 60)
