"""The application database: its schema and migrations, and connections to it.

The rules that write its rows are elsewhere: submissions in `submissions/`, money (tiers, pricing,
quota, the ledger, Stripe) in `billing/`; this package is where the rows live.
"""
