from billing.pricing import TIERS, AnalysisUsage, amount_cents, analysis_credits, tier


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
