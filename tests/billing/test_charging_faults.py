"""Charging exactly once through crashes, 5xx, timeouts and races (real SDK, localstripe + proxy).

Each fault is a scenario: one analysis billed the way `billing_record` bills it, retries
included. The tests run one scenario each; the summary runs all of them for an organization of
its own and counts, from the ledger and from Stripe, what was charged: its figures do not depend
on which other tests ran before it.
"""

import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from billing_helpers import gateway_for, give_card, make_organization
from sqlalchemy import select, text

from appdb.models import BillingEvent, Organization
from billing.errors import BillingUnavailable
from billing.ledger import charge_analysis, charge_key, ensure_customer, reconcile, record_internal
from billing.pricing import AnalysisUsage

USAGE = AnalysisUsage(image_bytes=100 << 20, sandbox_seconds=45, fuzzed=True)  # 5 credits
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Analysis:
    organization: str
    submission: str
    image: str

    @property
    def key(self) -> str:
        return charge_key(self.organization, self.submission, self.image)


def digest() -> str:
    return "sha256:" + uuid.uuid4().hex * 2


def charge(app_sessions, gateway, analysis: Analysis):
    return charge_analysis(
        app_sessions,
        gateway,
        organization_id=analysis.organization,
        submission_id=analysis.submission,
        image_digest=analysis.image,
        usage=USAGE,
    )


def in_threads(count: int, work) -> tuple[list, list[BaseException]]:
    """Run `work` in `count` threads started together; every result and every exception is returned."""
    results, errors, barrier = [], [], threading.Barrier(count)

    def run():
        try:
            barrier.wait()
            results.append(work())
        except BaseException as exc:  # collected and asserted by the caller, never lost in a thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a charging thread hung"
    return results, errors


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


# Scenarios: each bills one analysis (or a few) and asserts what its fault must lead to.


def happy_path(app_sessions, stripe_proxy, organization) -> list[Analysis]:
    gateway, analysis = gateway_for(stripe_proxy), Analysis(organization, "sub-happy", digest())
    first = charge(app_sessions, gateway, analysis)
    again = charge(app_sessions, gateway, analysis)  # a re-materialization
    assert first.status == "charged" and first.amount_cents == 125 and first.credits == 5 and first.created
    assert again.stripe_object_id == first.stripe_object_id and not again.created
    return [analysis]


def process_dies_after_stripe_accepted(app_sessions, stripe_proxy, organization) -> list[Analysis]:
    analysis = Analysis(organization, "sub-crash", digest())
    script = (
        "import sys; from appdb.engine import make_engine, make_sessionmaker; from billing.ledger import charge_analysis\n"
        "from billing.pricing import AnalysisUsage; from billing.stripe_gateway import StripeGateway\n"
        "sessions = make_sessionmaker(make_engine()); sys.stdin.readline()\n"
        f"charge_analysis(sessions, StripeGateway('sk_test_vexxy', '{stripe_proxy.url}'), organization_id='{organization}', "
        f"submission_id='{analysis.submission}', image_digest='{analysis.image}', "
        f"usage=AnalysisUsage({USAGE.image_bytes}, {USAGE.sandbox_seconds}, True))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, text=True, cwd=ROOT)
    stripe_proxy.state.faults.kill_after_forward_pid = child.pid
    child.stdin.write("go\n")
    child.stdin.flush()
    assert child.wait(timeout=60) == -9  # killed between Stripe's answer and the ledger commit
    with app_sessions() as session:
        row = session.scalar(select(BillingEvent).where(BillingEvent.idempotency_key == analysis.key))
        assert row.status == "pending" and row.stripe_object_id is None
    repaired = reconcile(app_sessions, gateway_for(stripe_proxy))
    assert analysis.key in repaired.marked_charged
    retried = charge(app_sessions, gateway_for(stripe_proxy), analysis)  # the step's retry
    assert retried.status == "charged" and not retried.created
    return [analysis]


def stripe_5xx_then_the_step_retries(app_sessions, stripe_proxy, organization) -> list[Analysis]:
    once = Analysis(organization, "sub-500-once", digest())
    stripe_proxy.state.faults.fail_with_500 = 1  # the SDK's own retry (same key) absorbs one
    assert charge(app_sessions, gateway_for(stripe_proxy), once).status == "charged"
    often = Analysis(organization, "sub-500", digest())
    stripe_proxy.state.faults.fail_with_500 = 5  # more than the SDK retries: the step fails ...
    with pytest.raises(BillingUnavailable, match="Stripe could not charge the analysis"):
        charge(app_sessions, gateway_for(stripe_proxy, retries=1), often)
    stripe_proxy.state.faults.fail_with_500 = 0
    assert charge(app_sessions, gateway_for(stripe_proxy), often).status == "charged"  # ... and its retry charges
    return [once, often]


def timeout_after_stripe_acted(app_sessions, stripe_proxy, organization, localstripe) -> list[Analysis]:
    """Stripe charges but answers after the client gave up: the step fails, its retry finds that one charge."""
    analysis = Analysis(organization, "sub-timeout", digest())
    stripe_proxy.state.faults.delay_after_forward, stripe_proxy.state.faults.delay_seconds = 1, 3.0
    with pytest.raises(BillingUnavailable, match="Stripe could not charge the analysis"):
        charge(app_sessions, gateway_for(stripe_proxy, timeout_seconds=1.0, retries=0), analysis)
    with app_sessions() as session:
        row = session.scalar(select(BillingEvent).where(BillingEvent.idempotency_key == analysis.key))
        assert row.status == "pending" and row.stripe_object_id is None
    wait_until(lambda: not stripe_proxy.state.in_flight, 30, "the delayed answer to be sent")
    (made,) = intents_for(localstripe, analysis.key)  # Stripe did act, once
    retried = charge(app_sessions, gateway_for(stripe_proxy), analysis)  # the step's retry: the answer is replayed
    assert retried.status == "charged" and retried.stripe_object_id == made["id"] and not retried.created
    return [analysis]


def two_runs_of_the_same_partition_race(app_sessions, stripe_proxy, organization) -> list[Analysis]:
    analysis = Analysis(organization, "sub-race", digest())
    results, errors = in_threads(6, lambda: charge(app_sessions, gateway_for(stripe_proxy, retries=3), analysis))
    # A loser may find the key still in flight at Stripe (409): that is BillingUnavailable, and its
    # step's retry settles it. Anything else (a duplicate ledger row, a deadlock) is a bug.
    assert all(isinstance(error, BillingUnavailable) for error in errors), errors
    if errors:
        results.append(charge(app_sessions, gateway_for(stripe_proxy), analysis))
    assert len({r.stripe_object_id for r in results}) == 1 and sum(r.created for r in results) == 1
    return [analysis]


def failed_analysis(instance, registry, organization) -> Analysis:
    """A real `analyze_image` run for a submission whose image is not in the registry: it fails."""
    from dagster import DagsterRunStatus

    from vexxy_pipelines import tags
    from vexxy_pipelines.definitions import defs
    from vexxy_pipelines.partitions import image_partitions

    analysis = Analysis(organization, f"sub-failed-{uuid.uuid4().hex[:8]}", digest())
    key = f"{registry.address}/vexxy/never-pushed@{analysis.image}"
    instance.add_dynamic_partitions(image_partitions.name, [key])
    try:
        result = defs.resolve_job_def("analyze_image").execute_in_process(
            instance=instance,
            partition_key=key,
            raise_on_error=False,
            tags={tags.ORGANIZATION: organization, tags.SUBMISSION: analysis.submission},
        )
    finally:
        instance.delete_dynamic_partition(image_partitions.name, key)
    assert not result.success and instance.get_run_by_id(result.run_id).status == DagsterRunStatus.FAILURE
    return analysis


SUCCEEDING = [
    happy_path,
    process_dies_after_stripe_accepted,
    stripe_5xx_then_the_step_retries,
    timeout_after_stripe_acted,
    two_runs_of_the_same_partition_race,
]


def intents_for(localstripe, key: str) -> list[dict]:
    return [i for i in localstripe.payment_intents() if (i.get("metadata") or {}).get("vexxy_ledger_key") == key]


@pytest.fixture
def customer(app_sessions, stripe_proxy):
    organization = make_organization(app_sessions, tier="team")
    give_card(app_sessions, gateway_for(stripe_proxy), organization)
    return organization


def test_charge_once_and_never_again_on_rematerialization(app_sessions, stripe_proxy, customer):
    happy_path(app_sessions, stripe_proxy, customer)


def test_process_dies_after_stripe_accepted_the_charge(app_sessions, stripe_proxy, customer):
    process_dies_after_stripe_accepted(app_sessions, stripe_proxy, customer)


def test_stripe_5xx_then_the_step_retries(app_sessions, stripe_proxy, customer):
    stripe_5xx_then_the_step_retries(app_sessions, stripe_proxy, customer)


def test_timeout_after_stripe_acted_then_retry(app_sessions, stripe_proxy, customer, localstripe):
    timeout_after_stripe_acted(app_sessions, stripe_proxy, customer, localstripe)


def test_two_runs_of_the_same_partition_race(app_sessions, stripe_proxy, customer):
    two_runs_of_the_same_partition_race(app_sessions, stripe_proxy, customer)


def test_a_charge_waits_for_the_organization_row_lock(app_sessions, stripe_proxy, customer):
    """Charges of one organization are serialized on its row (quota and ledger stay consistent)."""
    analysis = Analysis(customer, "sub-locked", digest())
    with app_sessions.begin() as holder:
        # FOR NO KEY UPDATE: it blocks FOR UPDATE, but not the foreign-key checks of a ledger insert,
        # so only a charge that takes the organization lock has to wait here.
        holder.scalar(select(Organization).where(Organization.id == customer).with_for_update(key_share=True))
        outcome: dict = {}
        worker = threading.Thread(
            target=lambda: outcome.update(entry=charge(app_sessions, gateway_for(stripe_proxy), analysis)), daemon=True
        )
        worker.start()

        def waiting_on_a_lock():
            with app_sessions() as session:
                return session.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
                )

        wait_until(lambda: waiting_on_a_lock() or not worker.is_alive(), 30, "the charge to start")
        assert worker.is_alive() and "entry" not in outcome, "the charge did not wait for the organization row lock"
    worker.join(timeout=60)
    assert outcome["entry"].status == "charged" and outcome["entry"].created


def test_each_part_of_the_charge_key_matters(app_sessions, stripe_proxy, customer, localstripe):
    """Organization + submission + digest: two submissions of one digest are two charges, a retry is one."""
    gateway, image, other_image = gateway_for(stripe_proxy), digest(), digest()
    other = make_organization(app_sessions, tier="team")
    give_card(app_sessions, gateway, other)
    analyses = [
        Analysis(customer, "sub-key-1", image),
        Analysis(customer, "sub-key-2", image),  # the same image submitted again
        Analysis(customer, "sub-key-1", other_image),  # the same submission id, another image
        Analysis(other, "sub-key-1", image),  # another organization, same submission id and image
    ]
    assert len({a.key for a in analyses}) == 4
    entries = [charge(app_sessions, gateway, a) for a in analyses]
    assert all(e.status == "charged" and e.created for e in entries)
    assert len({e.stripe_object_id for e in entries}) == 4
    retried = charge(app_sessions, gateway, analyses[0])
    assert not retried.created and retried.stripe_object_id == entries[0].stripe_object_id
    for analysis, entry in zip(analyses, entries, strict=True):
        (intent,) = intents_for(localstripe, analysis.key)
        assert intent["id"] == entry.stripe_object_id
        assert (
            intent["metadata"]["vexxy_submission"] == analysis.submission and intent["metadata"]["vexxy_image"] == analysis.image
        )


def test_internal_analyses_are_recorded_not_charged(app_sessions):
    internal = record_internal(app_sessions, None, digest(), USAGE)
    assert internal.status == "recorded" and internal.amount_cents == 0 and internal.stripe_object_id is None


@pytest.mark.slow  # one real Dagster run, the failed analysis
def test_summary_exactly_one_charge_per_successful_analysis(app_sessions, stripe_proxy, localstripe, instance, registry, capsys):
    organization = make_organization(app_sessions, tier="team")
    give_card(app_sessions, gateway_for(stripe_proxy), organization)
    succeeded, failed = [], []
    for scenario in SUCCEEDING:
        extra = (localstripe,) if scenario is timeout_after_stripe_acted else ()
        succeeded += scenario(app_sessions, stripe_proxy, organization, *extra)
    failed.append(failed_analysis(instance, registry, organization))

    # Stripe's side: every payment intent of this organization, by ledger key.
    stripe_charges: dict[str, list[dict]] = {}
    for intent in localstripe.payment_intents():
        metadata = intent.get("metadata") or {}
        if metadata.get("vexxy_organization") == organization and intent["status"] == "succeeded":
            stripe_charges.setdefault(metadata["vexxy_ledger_key"], []).append(intent)
    # The ledger's side: every row of this organization, by key.
    with app_sessions() as session:
        ledger = {
            row.idempotency_key: row
            for row in session.scalars(select(BillingEvent).where(BillingEvent.organization_id == organization))
        }

    def charged_once(analysis: Analysis) -> bool:
        row, charges = ledger.get(analysis.key), stripe_charges.get(analysis.key, [])
        return len(charges) == 1 and row is not None and row.status == "charged" and row.stripe_object_id == charges[0]["id"]

    made = sum(1 for a in succeeded if stripe_charges.get(a.key))
    duplicated = sum(max(0, len(charges) - 1) for charges in stripe_charges.values())
    missed = sum(1 for a in succeeded if not charged_once(a))
    failed_submissions = {a.submission for a in failed}
    failed_charged = len(
        {c["metadata"].get("vexxy_submission") for charges in stripe_charges.values() for c in charges} & failed_submissions
    ) + sum(1 for row in ledger.values() if row.submission_id in failed_submissions)
    known = {a.key for a in succeeded}
    stray = len(set(stripe_charges) - known) + sum(
        1 for key, row in ledger.items() if key not in known and row.status == "charged"
    )
    with capsys.disabled():
        print(
            f"\nbilling fault injection: analyses={len(succeeded) + len(failed)} "
            f"(succeeded={len(succeeded)}, failed={len(failed)}) stripe charges={sum(map(len, stripe_charges.values()))} "
            f"made={made} duplicated={duplicated} missed={missed} stray={stray} failed analyses charged={failed_charged}"
        )
    assert (made, duplicated, missed, stray, failed_charged) == (len(succeeded), 0, 0, 0, 0)
    assert len(succeeded) == 6 and len(failed) == 1


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
