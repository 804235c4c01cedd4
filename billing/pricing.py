"""Pricing tiers as data, and the credit cost of one analysis. Money is integer cents, always."""

from __future__ import annotations

import math
from dataclasses import dataclass

from billing.limits import TierLimits


@dataclass(frozen=True)
class Tier:
    name: str
    monthly_analyses: int  # quota: analyses that may be submitted per billing period
    monthly_credit_limit: int  # spend cap in credits per period
    credit_price_cents: int  # what one credit costs
    max_concurrency: int  # analyses running at once
    priority_band: tuple[int, int]  # (lowest, highest) run priority; bands of tiers never overlap
    fuzzing_included: bool
    max_observation_seconds: int
    stripe_plan: str | None  # the Stripe plan/price id of the subscription (None: free)
    max_roles: int = 1  # roles (web, worker, job...) one analysis may observe, one after another


TIERS: dict[str, Tier] = {
    "free": Tier("free", 10, 100, 0, 1, (0, 9), False, 60, None, max_roles=2),
    "team": Tier("team", 500, 10_000, 25, 4, (10, 19), True, 300, "vexxy-team", max_roles=4),
    "enterprise": Tier("enterprise", 10_000, 500_000, 15, 16, (20, 29), True, 900, "vexxy-enterprise", max_roles=8),
}
DEFAULT_TIER = "free"
CURRENCY = "usd"


def tier(name: str | None) -> Tier:
    return TIERS.get(name or DEFAULT_TIER, TIERS[DEFAULT_TIER])


def config_limits(plan: Tier) -> TierLimits:
    """What an analysis configuration may ask for on this tier."""
    return TierLimits(plan.name, plan.max_observation_seconds, plan.fuzzing_included, plan.max_roles)


def run_priority(plan: Tier, requested: int | None = None) -> int:
    """The run priority of a submission: the caller's wish (0 = the tier's default) clamped into the tier's band.

    Bands do not overlap, so a paying tier's default always outranks anything a cheaper tier can ask for.
    """
    low, high = plan.priority_band
    return low + min(max(requested or 0, 0), high - low)


@dataclass(frozen=True)
class AnalysisUsage:
    image_bytes: int
    sandbox_seconds: float
    fuzzed: bool


def analysis_credits(usage: AnalysisUsage) -> int:
    """1 credit per analysis, +1 per started 500 MiB of image, +1 per started sandbox minute, +2 when fuzzed."""
    size = math.ceil(usage.image_bytes / (500 << 20)) if usage.image_bytes > 0 else 0
    minutes = math.ceil(usage.sandbox_seconds / 60) if usage.sandbox_seconds > 0 else 0
    return 1 + size + minutes + (2 if usage.fuzzed else 0)


def amount_cents(credits: int, plan: Tier) -> int:
    return credits * plan.credit_price_cents
