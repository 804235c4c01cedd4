"""The analysis-secrets key of a test session.

Dagster's multiprocess executor forks step processes from a forkserver that keeps the environment
it started with, so the key an analysis decrypts its secret values with must be in the environment
before the session's first run, not set later by the module that needs it.
"""

TEST_SECRETS_KEY = "cPz0xT3Jk8mJ4M0yq2cO8t0Jm3oB5c1t1U7uQpQf7yE="
