"""Charging exactly once through crashes, 5xx, timeouts and races (real SDK, localstripe + proxy)."""

import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from billing_helpers import gateway_for, give_card, make_organization
from sqlalchemy import func, select

from billing.errors import BillingUnavailable
from billing.ledger import charge_analysis, charge_key, ensure_customer, reconcile, record_internal
from billing.models import BillingEvent
from billing.pricing import AnalysisUsage

USAGE = AnalysisUsage(image_bytes=100 << 20, sandbox_seconds=45, fuzzed=True)  # 5 credits
TALLY = {"attempted": 0, "succeeded_analyses": [], "failed_analyses": []}


@pytest.fixture
def customer(app_sessions, stripe_proxy):
    organization = make_organization(app_sessions, tier="team")
    give_card(app_sessions, gateway_for(stripe_proxy), organization)
    return organization


def digest():
    return "sha256:" + uuid.uuid4().hex * 2


def attempt(app_sessions, gateway, organization, submission, image):
    TALLY["attempted"] += 1
    return charge_analysis(
        app_sessions, gateway, organization_id=organization, submission_id=submission, image_digest=image, usage=USAGE
    )


def test_charge_once_and_never_again_on_rematerialization(app_sessions, stripe_proxy, customer):
    gateway, image = gateway_for(stripe_proxy), digest()
    first = attempt(app_sessions, gateway, customer, "sub-happy", image)
    again = attempt(app_sessions, gateway, customer, "sub-happy", image)
    assert first.status == "charged" and first.amount_cents == 125 and first.credits == 5 and first.created
    assert again.stripe_object_id == first.stripe_object_id and not again.created
    TALLY["succeeded_analyses"].append((customer, "sub-happy", image))


def test_process_dies_after_stripe_accepted_the_charge(app_sessions, stripe_proxy, customer):
    image = digest()
    script = (
        "import sys; from billing.db import make_engine, make_sessionmaker; from billing.ledger import charge_analysis\n"
        "from billing.pricing import AnalysisUsage; from billing.stripe_gateway import StripeGateway\n"
        "sessions = make_sessionmaker(make_engine()); sys.stdin.readline()\n"
        f"charge_analysis(sessions, StripeGateway('sk_test_vexxy', '{stripe_proxy.url}'), organization_id='{customer}', "
        f"submission_id='sub-crash', image_digest='{image}', "
        f"usage=AnalysisUsage({USAGE.image_bytes}, {USAGE.sandbox_seconds}, True))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2]
    )
    stripe_proxy.state.faults.kill_after_forward_pid = child.pid
    TALLY["attempted"] += 1
    child.stdin.write("go\n")
    child.stdin.flush()
    assert child.wait(timeout=60) == -9  # killed between Stripe's answer and the ledger commit
    with app_sessions() as session:
        row = session.scalar(select(BillingEvent).where(BillingEvent.idempotency_key == charge_key(customer, "sub-crash", image)))
        assert row.status == "pending" and row.stripe_object_id is None
    repaired = reconcile(app_sessions, gateway_for(stripe_proxy))
    assert charge_key(customer, "sub-crash", image) in repaired.marked_charged
    retried = attempt(app_sessions, gateway_for(stripe_proxy), customer, "sub-crash", image)  # the step's retry
    assert retried.status == "charged" and not retried.created
    TALLY["succeeded_analyses"].append((customer, "sub-crash", image))


def test_stripe_5xx_then_the_step_retries(app_sessions, stripe_proxy, customer):
    image = digest()
    stripe_proxy.state.faults.fail_with_500 = 1  # the SDK's own retry (same key) absorbs one
    assert attempt(app_sessions, gateway_for(stripe_proxy), customer, "sub-500-once", image).status == "charged"
    TALLY["succeeded_analyses"].append((customer, "sub-500-once", image))
    image = digest()
    stripe_proxy.state.faults.fail_with_500 = 5  # more than the SDK retries: the step fails ...
    with pytest.raises(BillingUnavailable, match="Stripe could not charge the analysis"):
        attempt(app_sessions, gateway_for(stripe_proxy, retries=1), customer, "sub-500", image)
    stripe_proxy.state.faults.fail_with_500 = 0
    assert (
        attempt(app_sessions, gateway_for(stripe_proxy), customer, "sub-500", image).status == "charged"
    )  # ... and its retry charges
    TALLY["succeeded_analyses"].append((customer, "sub-500", image))


def test_timeout_after_stripe_acted_then_retry(app_sessions, stripe_proxy, customer):
    image = digest()
    stripe_proxy.state.faults.delay_after_forward, stripe_proxy.state.faults.delay_seconds = 1, 3.0
    try:
        result = attempt(app_sessions, gateway_for(stripe_proxy, timeout_seconds=1.0, retries=0), customer, "sub-timeout", image)
    except BillingUnavailable:
        result = None
    if result is None or result.status != "charged":
        import time

        time.sleep(3.5)  # the first request finishes; its answer is then replayed for the key
        result = attempt(app_sessions, gateway_for(stripe_proxy), customer, "sub-timeout", image)
    assert result.status == "charged"
    TALLY["succeeded_analyses"].append((customer, "sub-timeout", image))


def test_two_runs_of_the_same_partition_race(app_sessions, stripe_proxy, customer):
    image, results, errors = digest(), [], []

    def run():
        try:
            results.append(attempt(app_sessions, gateway_for(stripe_proxy, retries=3), customer, "sub-race", image))
        except BillingUnavailable as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:  # a loser of the race may see the key still in flight; its step retry settles it
        results.append(attempt(app_sessions, gateway_for(stripe_proxy), customer, "sub-race", image))
    assert len({r.stripe_object_id for r in results}) == 1 and sum(r.created for r in results) == 1
    TALLY["succeeded_analyses"].append((customer, "sub-race", image))


def test_failed_and_internal_analyses_are_not_charged(app_sessions, stripe_proxy, customer):
    TALLY["failed_analyses"].append((customer, "sub-failed", digest()))  # the asset never runs: nothing to call
    internal = record_internal(app_sessions, None, digest(), USAGE)
    assert internal.status == "recorded" and internal.amount_cents == 0 and internal.stripe_object_id is None


def test_summary_exactly_one_charge_per_successful_analysis(app_sessions, localstripe, capsys):
    intents = localstripe.payment_intents()
    by_key = {}
    for intent in intents:
        key = (intent.get("metadata") or {}).get("vexxy_ledger_key")
        if key:
            by_key.setdefault(key, []).append(intent)
    made = duplicated = missed = 0
    with app_sessions() as session:
        for organization, submission, image in TALLY["succeeded_analyses"]:
            key = charge_key(organization, submission, image)
            charges = by_key.get(key, [])
            made += min(1, len(charges))
            duplicated += max(0, len(charges) - 1)
            rows = session.scalar(
                select(func.count())
                .select_from(BillingEvent)
                .where(BillingEvent.idempotency_key == key, BillingEvent.status == "charged")
            )
            missed += 0 if (charges and rows == 1) else 1
        for organization, submission, image in TALLY["failed_analyses"]:
            key = charge_key(organization, submission, image)
            assert key not in by_key
            assert session.scalar(select(func.count()).select_from(BillingEvent).where(BillingEvent.idempotency_key == key)) == 0
    with capsys.disabled():
        print(
            f"\nbilling fault injection: charges attempted={TALLY['attempted']} "
            f"made={made} duplicated={duplicated} missed={missed} "
            f"(successful analyses={len(TALLY['succeeded_analyses'])}, failed analyses charged=0)"
        )
    assert made == len(TALLY["succeeded_analyses"]) == 6 and duplicated == 0 and missed == 0


def test_reconcile_adds_a_charge_the_ledger_lacks(app_sessions, stripe_proxy, customer):
    gateway = gateway_for(stripe_proxy)
    key = charge_key(customer, "sub-ledger-lost", "sha256:" + "e" * 64)
    charged = gateway.charge(
        ensure_customer(app_sessions, gateway, customer),
        250,
        "usd",
        idempotency_key=key,
        metadata={
            "vexxy_ledger_key": key,
            "vexxy_organization": customer,
            "vexxy_submission": "sub-ledger-lost",
            "vexxy_image": "sha256:" + "e" * 64,
        },
    )
    report = reconcile(app_sessions, gateway)
    assert key in report.added_to_ledger
    with app_sessions() as session:
        row = session.scalar(select(BillingEvent).where(BillingEvent.idempotency_key == key))
        assert row.status == "charged" and row.stripe_object_id == charged.id and row.amount_cents == 250
    assert key not in reconcile(app_sessions, gateway).added_to_ledger  # and only once
