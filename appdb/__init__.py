"""The application database: its schema and migrations, connections, and the submission life cycle.

Money (tiers, pricing, quota, the ledger, Stripe) is `billing/`; this package is where the rows live.
"""
