"""Signed VEX attestations: in-toto Statements in DSSE envelopes, signed with an ECDSA P-256 key."""
