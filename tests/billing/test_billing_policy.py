"""The billing decisions: which mode is in effect, what status a charge starts with, what is retried, what may be
written off."""

import pytest

from billing import policy
from vexxy.errors import VexxyError


@pytest.mark.parametrize(
    ("setting", "stripe_configured", "mode"),
    [
        (None, True, "stripe"),
        (None, False, "ledger"),
        ("", True, "stripe"),
        ("  ", False, "ledger"),
        ("ledger", True, "ledger"),
        ("OFF", True, "off"),
        (" stripe ", False, "stripe"),
    ],
)
def test_the_mode_set_else_stripe_with_a_key_else_the_ledger(setting, stripe_configured, mode):
    assert policy.billing_mode(setting, stripe_configured) == mode


def test_a_mode_that_is_not_one_names_the_setting_and_the_modes():
    with pytest.raises(VexxyError) as error:
        policy.billing_mode("paypal", True)
    assert error.value.message == "VEXXY_BILLING_MODE='paypal' is not one of stripe, ledger, off."
    assert "STRIPE_API_KEY" in error.value.hint


def test_the_log_line_says_the_mode_and_what_it_does():
    assert policy.describe_mode("ledger", False) == (
        "Billing mode: ledger: charges are recorded in the ledger as recorded_only, nothing is sent to Stripe."
    )
    assert policy.describe_mode("stripe", True).startswith("Billing mode: stripe: each charge is recorded")
    assert "STRIPE_API_KEY is not set" in policy.describe_mode("stripe", False)
    assert policy.describe_mode("off", False).startswith("Billing mode: off:")


@pytest.mark.parametrize(
    ("amount", "mode", "status"),
    [
        (125, "stripe", "pending"),
        (125, "ledger", "recorded_only"),
        (125, "off", None),
        (0, "stripe", "recorded"),
        (0, "ledger", "recorded"),
        (0, "off", None),
    ],
)
def test_the_status_a_charge_starts_with(amount, mode, status):
    assert policy.charge_status(amount, mode) == status


def test_statuses_fit_the_ledger_column():
    statuses = (policy.PENDING, policy.CHARGED, policy.RECORDED, policy.RECORDED_ONLY, policy.WRITTEN_OFF)
    assert len(set(statuses)) == 5 and max(map(len, statuses)) <= 20


@pytest.mark.parametrize(
    ("kind", "status", "age", "due"),
    [
        ("analysis_charge", "pending", 60, True),
        ("analysis_charge", "pending", 59.9, False),  # its own step may still be sending it
        ("analysis_charge", "charged", 3600, False),
        ("analysis_charge", "recorded_only", 3600, False),  # ledger mode never sends
        ("analysis_charge", "written_off", 3600, False),
        ("internal_analysis", "pending", 3600, False),
    ],
)
def test_only_a_pending_charge_old_enough_is_retried(kind, status, age, due):
    assert policy.due_for_retry(kind, status, age) is due


def test_only_a_pending_charge_can_be_written_off():
    assert policy.write_off_refusal(7, "pending") is None
    assert policy.write_off_refusal(7, "written_off") == "Ledger entry 7 is already written off."
    assert policy.write_off_refusal(7, "charged") == (
        "Ledger entry 7 is charged, not pending: only a pending charge can be written off."
    )
