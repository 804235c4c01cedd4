"""`billing_record`: the submitting organization is charged once; internal analyses never are."""

import pytest
from billing_helpers import gateway_for, give_card, make_organization
from dagster import materialize
from sqlalchemy import select

from appdb.models import BillingEvent
from billing.ledger import charge_key
from vexxy_pipelines.assets.billing import billing_record
from vexxy_pipelines.definitions import defs
from vexxy_pipelines.environment import resources_for
from vexxy_pipelines.partitions import add_image_partition, image_partitions
from vexxy_pipelines.resources.stripe_billing import StripeResource

pytestmark = pytest.mark.slow


def bill(instance, key, stripe_proxy, tags):
    resources = {**resources_for(), "stripe": StripeResource(api_key="sk_test_vexxy", api_base=stripe_proxy.url)}
    result = materialize([billing_record], partition_key=key, instance=instance, resources=resources, tags=tags)
    assert result.success
    return result.asset_materializations_for_node("billing_record")[0].metadata


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
