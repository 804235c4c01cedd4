"""`billing_record`: the submitting organization is charged once; internal analyses never are; billing never fails
the analysis (no Stripe key: the ledger only; Stripe failing: the charge is pending, and the retry sensor collects it)."""

from datetime import UTC, datetime, timedelta

import pytest
from billing_helpers import gateway_for, give_card, make_organization
from dagster import SkipReason, build_sensor_context, materialize
from sqlalchemy import select, update

from appdb.models import BillingEvent
from billing.ledger import charge_key
from vexxy_pipelines.assets.billing import billing_record
from vexxy_pipelines.assets.image import image
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.partitions import add_image_partition, image_partitions
from vexxy_pipelines.resources.app_database import AppDatabaseResource
from vexxy_pipelines.resources.stripe_billing import StripeResource
from vexxy_pipelines.sensors.billing import billing_retry_sensor

pytestmark = pytest.mark.slow


def bill(instance, key, stripe_proxy, tags, stripe=None, app_db=None):
    stripe = stripe or StripeResource(api_key="sk_test_vexxy", api_base=stripe_proxy.url)
    resources = {**resources_for(), "stripe": stripe, **({"app_db": app_db} if app_db else {})}
    result = materialize([billing_record], partition_key=key, instance=instance, resources=resources, tags=tags)
    assert result.success
    return result.asset_materializations_for_node("billing_record")[0].metadata


@pytest.fixture
def image_recorded(instance, demo_image):
    """The demo image's partition with its `image` asset materialized (what billing reads of an analysis's usage;
    no sandbox ran, so none is counted); its key."""
    key = add_image_partition(instance, demo_image)
    assert materialize([image], partition_key=key, instance=instance, resources=resources_for()).success
    return key


def step_logs(instance, run_id) -> list[str]:
    return [event.user_message for event in instance.all_logs(run_id) if event.dagster_event is None]


def ledger_row(sessions, key) -> BillingEvent:
    with sessions() as session:
        return session.scalar(select(BillingEvent).where(BillingEvent.idempotency_key == key))


def test_charged_once_for_the_submitting_organization(
    instance, analyzed_demo, demo_image, app_sessions, stripe_proxy, localstripe
):
    organization = make_organization(app_sessions, tier="team")
    give_card(app_sessions, gateway_for(stripe_proxy), organization)
    key = add_image_partition(instance, demo_image)
    tags = {"vexxy/organization": organization, "vexxy/submission": "sub-dagster-1"}
    first = bill(instance, key, stripe_proxy, tags)
    assert first["status"].value == "charged" and first["newly_charged"].value is True
    assert first["amount_cents"].value == first["credits"].value * 25 and first["stripe_object_id"].value.startswith("pi_")
    again = bill(instance, key, stripe_proxy, tags)  # a re-execution of the step
    assert again["ledger_id"].value == first["ledger_id"].value and again["newly_charged"].value is False
    ledger_key = charge_key(organization, "sub-dagster-1", demo_image.digest)
    charges = [i for i in localstripe.payment_intents() if (i.get("metadata") or {}).get("vexxy_ledger_key") == ledger_key]
    assert len(charges) == 1 and charges[0]["amount"] == first["amount_cents"].value


def test_operator_analysis_is_internal(instance, analyzed_demo, demo_image, stripe_proxy):
    metadata = bill(instance, add_image_partition(instance, demo_image), stripe_proxy, {})
    assert (
        metadata["organization"].value == "internal"
        and metadata["status"].value == "recorded"
        and metadata["amount_cents"].value == 0
    )


def test_a_failed_analysis_is_never_charged(instance, demo_image, app_sessions):
    organization = make_organization(app_sessions, tier="team")
    bad_key = f"{demo_image.name}@sha256:{'7' * 64}"
    instance.add_dynamic_partitions(image_partitions.name, [bad_key])
    result = defs.resolve_job_def("analyze_image").execute_in_process(
        instance=instance,
        partition_key=bad_key,
        raise_on_error=False,
        tags={"vexxy/organization": organization, "vexxy/submission": "sub-failed"},
    )
    assert not result.success
    with app_sessions() as session:
        assert session.scalars(select(BillingEvent).where(BillingEvent.organization_id == organization)).all() == []
    instance.delete_dynamic_partition(image_partitions.name, bad_key)


def test_without_a_stripe_key_the_analysis_is_billed_in_the_ledger_only(instance, image_recorded, demo_image, app_database):
    """The README's organization path with no Stripe key: the step succeeds, the charge is recorded, nothing is sent."""
    sessions = app_database.sessions
    organization = make_organization(sessions, tier="team")
    key = image_recorded
    tags = {"vexxy/organization": organization, "vexxy/submission": "sub-no-stripe"}
    resources = {**resources_for(), "stripe": StripeResource(), "app_db": AppDatabaseResource(url=app_database.url)}
    result = materialize([billing_record], partition_key=key, instance=instance, resources=resources, tags=tags)
    assert result.success
    metadata = result.asset_materializations_for_node("billing_record")[0].metadata
    assert (metadata["billing_mode"].value, metadata["status"].value, metadata["stripe_object_id"].value) == (
        "ledger",
        "recorded_only",
        "—",
    )
    row = ledger_row(sessions, charge_key(organization, "sub-no-stripe", demo_image.digest))
    assert (row.status, row.amount_cents, row.stripe_object_id) == ("recorded_only", metadata["amount_cents"].value, None)
    assert row.amount_cents == row.credits * 25 > 0
    assert step_logs(instance, result.run_id)[0].startswith("Billing mode: ledger: charges are recorded in the ledger")


def test_billing_off_charges_nothing(instance, image_recorded, demo_image, app_sessions):
    organization = make_organization(app_sessions, tier="team")
    key = image_recorded
    tags = {"vexxy/organization": organization, "vexxy/submission": "sub-billing-off"}
    metadata = bill(instance, key, None, tags, stripe=StripeResource(mode="off"))
    assert (metadata["billing_mode"].value, metadata["status"].value) == ("off", "not billed")
    assert ledger_row(app_sessions, charge_key(organization, "sub-billing-off", demo_image.digest)) is None


def test_stripe_failing_leaves_the_charge_pending_and_the_sensor_charges_it_once(
    instance, image_recorded, demo_image, app_sessions, stripe_proxy, localstripe
):
    organization = make_organization(app_sessions, tier="team")
    give_card(app_sessions, gateway_for(stripe_proxy), organization)
    key = image_recorded
    tags = {"vexxy/organization": organization, "vexxy/submission": "sub-stripe-down"}
    ledger_key = charge_key(organization, "sub-stripe-down", demo_image.digest)
    stripe = StripeResource(api_key="sk_test_vexxy", api_base=stripe_proxy.url, max_network_retries=1)

    stripe_proxy.state.faults.fail_with_500 = 10  # every charge attempt of the step fails
    metadata = bill(instance, key, stripe_proxy, tags, stripe=stripe)
    assert metadata["status"].value == "pending" and metadata["stripe_object_id"].value == "—"
    assert metadata["charge_problem"].value.startswith("Stripe could not charge the analysis")
    assert metadata["retried_by"].value == "billing_retry_sensor"
    assert ledger_row(app_sessions, ledger_key).status == "pending"
    charges = [i for i in localstripe.payment_intents() if (i.get("metadata") or {}).get("vexxy_ledger_key") == ledger_key]
    assert charges == []

    stripe_proxy.state.faults.fail_with_500 = 0
    resources = {"app_db": resources_for()["app_db"], "stripe": stripe}
    with app_sessions.begin() as session:  # the step's own attempt is a while ago
        session.execute(
            update(BillingEvent)
            .where(BillingEvent.idempotency_key == ledger_key)
            .values(created_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    first = billing_retry_sensor(build_sensor_context(instance=instance, resources=resources))
    assert isinstance(first, SkipReason)
    row = ledger_row(app_sessions, ledger_key)
    (intent,) = [i for i in localstripe.payment_intents() if (i.get("metadata") or {}).get("vexxy_ledger_key") == ledger_key]
    assert (row.status, row.stripe_object_id, intent["status"]) == ("charged", intent["id"], "succeeded")
    assert intent["amount"] == metadata["amount_cents"].value

    billing_retry_sensor(build_sensor_context(instance=instance, resources=resources))  # a later tick
    again = [i for i in localstripe.payment_intents() if (i.get("metadata") or {}).get("vexxy_ledger_key") == ledger_key]
    assert [i["id"] for i in again] == [intent["id"]] and ledger_row(app_sessions, ledger_key).status == "charged"


def test_a_billing_mode_that_is_not_one_fails_once_naming_the_setting(instance, image_recorded, demo_image, app_sessions):
    organization = make_organization(app_sessions, tier="team")
    key = image_recorded
    resources = {**resources_for(), "stripe": StripeResource(mode="paypal")}
    tags = {"vexxy/organization": organization, "vexxy/submission": "sub-bad-mode"}
    result = materialize(
        [billing_record], partition_key=key, instance=instance, resources=resources, tags=tags, raise_on_error=False
    )
    assert not result.success
    (failure,) = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    assert "VEXXY_BILLING_MODE='paypal' is not one of stripe, ledger, off." in failure.step_failure_data.error.message
    assert not [event for event in result.all_events if event.event_type_value == "STEP_UP_FOR_RETRY"]
    assert ledger_row(app_sessions, charge_key(organization, "sub-bad-mode", demo_image.digest)) is None
