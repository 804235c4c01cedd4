"""What happens to a charge: the billing mode in effect, the status a charge starts with, whether a pending one is
retried, whether one may be written off. Plain decisions; the ledger (`billing.ledger`, `billing.collection`) acts on them.

Billing never holds an analysis's results: whatever the mode, and whether Stripe answers or not, a successful
analysis is complete; what it owes is in the ledger.
"""

from __future__ import annotations

from vexxy.errors import VexxyError

# Billing modes (VEXXY_BILLING_MODE).
STRIPE = "stripe"  # charges are recorded, then sent to Stripe; one that fails stays pending and is retried
LEDGER = "ledger"  # charges are recorded in the ledger and never sent
OFF = "off"  # organizations' analyses are neither charged nor recorded as charges
MODES = (STRIPE, LEDGER, OFF)

# Ledger statuses (billing_events.status, at most 20 characters).
PENDING = "pending"  # to be sent to Stripe (or sent, its answer not yet recorded)
CHARGED = "charged"  # Stripe took the payment: stripe_object_id names it
RECORDED = "recorded"  # nothing to pay: an internal analysis, or one that cost 0 cents
RECORDED_ONLY = "recorded_only"  # owed, recorded in ledger mode, never sent to Stripe
WRITTEN_OFF = "written_off"  # was pending; an operator gave up collecting it (the reason is in details)

RETRY_AFTER_SECONDS = 60  # a pending charge younger than this may still be in its step's own hands


def billing_mode(setting: str | None, stripe_configured: bool) -> str:
    """The mode in effect: the one set, else `stripe` when a Stripe key is set, else `ledger`."""
    if setting is None or not setting.strip():
        return STRIPE if stripe_configured else LEDGER
    mode = setting.strip().lower()
    if mode not in MODES:
        raise VexxyError(
            f"VEXXY_BILLING_MODE={setting!r} is not one of {', '.join(MODES)}.",
            hint="Unset it to bill through Stripe when STRIPE_API_KEY is set and in the ledger only otherwise.",
        )
    return mode


def describe_mode(mode: str, stripe_configured: bool) -> str:
    """One sentence for the log: the mode in effect and what it does."""
    if mode == STRIPE:
        if not stripe_configured:
            return (
                "Billing mode: stripe, but STRIPE_API_KEY is not set: charges stay pending in the ledger until it is "
                "(VEXXY_BILLING_MODE=ledger records them without Stripe)."
            )
        return (
            "Billing mode: stripe: each charge is recorded in the ledger and sent to Stripe; "
            "a failed one stays pending and is retried."
        )
    if mode == LEDGER:
        return "Billing mode: ledger: charges are recorded in the ledger as recorded_only, nothing is sent to Stripe."
    return "Billing mode: off: organizations' analyses are not charged (internal analyses are still recorded)."


def charge_status(amount_cents: int, mode: str) -> str | None:
    """The status a new charge starts with; None: no charge is written (billing is off)."""
    if mode == OFF:
        return None
    if amount_cents <= 0:
        return RECORDED
    return PENDING if mode == STRIPE else RECORDED_ONLY


def due_for_retry(kind: str, status: str, age_seconds: float, retry_after_seconds: float = RETRY_AFTER_SECONDS) -> bool:
    """A pending analysis charge, old enough that no step is still sending it, is sent again (with its own key)."""
    return kind == "analysis_charge" and status == PENDING and age_seconds >= retry_after_seconds


def write_off_refusal(entry_id: int, status: str) -> str | None:
    """Why ledger entry `entry_id` cannot be written off (None: it can). Only a charge still pending can."""
    if status == PENDING:
        return None
    if status == WRITTEN_OFF:
        return f"Ledger entry {entry_id} is already written off."
    return f"Ledger entry {entry_id} is {status}, not pending: only a pending charge can be written off."
