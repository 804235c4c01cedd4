"""`vexxy billing`: the charges Stripe has not taken yet, and writing one off."""

from __future__ import annotations

import argparse

from rich.markup import escape

from vexxy_pipelines.cli.common import out


def _sessions():
    from vexxy_pipelines.resources.app_database import AppDatabaseResource

    return AppDatabaseResource().sessions()


def cmd_billing(args: argparse.Namespace) -> int:
    from billing.collection import pending_charges, write_off

    if args.billing_command == "write-off":
        entry = write_off(_sessions(), args.id, args.reason)
        out.print(
            f"Ledger entry {entry.id} ({entry.amount_cents / 100:.2f} {entry.currency.upper()}) written off: "
            "it is never sent to Stripe."
        )
        return 0
    charges = pending_charges(_sessions())
    if not charges:
        out.print("No pending charge.")
        return 0
    for charge in charges:  # one line each: `id  amount  organization  since  attempts  last error`
        line = (
            f"{charge.id}  {charge.amount_cents / 100:.2f} {charge.currency.upper()}  organization {charge.organization_id}  "
            f"submission {charge.submission_id}  since {charge.created_at.isoformat(timespec='seconds')}  "
            f"attempts {charge.attempts}"
        )
        if charge.last_error:
            line += f"  last: {charge.last_error}"
        out.print(escape(line), soft_wrap=True)
    return 0


def add_billing_commands(sub) -> None:
    """`billing pending` and `billing write-off`."""
    billing = sub.add_parser("billing", help="Charges Stripe has not taken yet: list them, write one off.")
    billing_sub = billing.add_subparsers(dest="billing_command", required=True)
    billing_sub.add_parser("pending", help="Every pending charge, oldest first, with what Stripe last answered.")
    write_off = billing_sub.add_parser("write-off", help="Stop collecting a pending charge (it is never sent again).")
    write_off.add_argument("id", type=int, help="The ledger id, as `vexxy billing pending` lists it.")
    write_off.add_argument("--reason", required=True, help="Why (kept in the ledger entry).")
    billing.set_defaults(func=cmd_billing)
