"""Organizations, subscriptions, quotas, pricing and a ledger of charges made through Stripe."""
