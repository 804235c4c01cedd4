import pytest

from billing.pricing import TIERS, AnalysisUsage, amount_cents, analysis_credits, run_priority, tier


def test_credits_follow_what_the_analysis_used():
    assert analysis_credits(AnalysisUsage(0, 0, False)) == 1
    assert analysis_credits(AnalysisUsage(100 << 20, 45, True)) == 1 + 1 + 1 + 2
    assert analysis_credits(AnalysisUsage((500 << 20) + 1, 121, False)) == 1 + 2 + 3


def test_money_is_integer_cents():
    assert amount_cents(5, TIERS["team"]) == 125 and isinstance(amount_cents(5, TIERS["team"]), int)
    assert amount_cents(5, TIERS["free"]) == 0


def test_tiers_are_data():
    assert tier(None).name == "free" and tier("nonsense").name == "free"
    assert TIERS["enterprise"].max_concurrency > TIERS["team"].max_concurrency > TIERS["free"].max_concurrency
    assert not TIERS["free"].fuzzing_included and TIERS["team"].fuzzing_included


def test_priority_bands_do_not_overlap_and_rise_with_the_tier():
    bands = sorted((plan.priority_band for plan in TIERS.values()), key=lambda band: band[0])
    for (low, high), (next_low, _) in zip(bands, bands[1:], strict=False):
        assert low <= high < next_low
    ordered = [TIERS[name] for name in ("free", "team", "enterprise")]
    assert [plan.priority_band for plan in ordered] == bands


@pytest.mark.parametrize("requested", [None, -(10**9), -1, 0, 3, 9, 10, 10**9])
def test_a_callers_priority_is_clamped_to_its_tiers_band(requested):
    for plan in TIERS.values():
        low, high = plan.priority_band
        assert low <= run_priority(plan, requested) <= high
    assert run_priority(TIERS["free"], requested) < run_priority(TIERS["team"]) < run_priority(TIERS["enterprise"])
    assert run_priority(TIERS["team"], requested) < run_priority(TIERS["enterprise"])


def test_priority_within_the_band_follows_the_request():
    team = TIERS["team"]
    assert run_priority(team) == run_priority(team, 0) == team.priority_band[0]
    assert run_priority(team, 3) == team.priority_band[0] + 3
    assert run_priority(team, 10**6) == team.priority_band[1]
    assert run_priority(team, -7) == team.priority_band[0]
