"""Answers for auditors: why a statement is what it is, what changed between two VEX, one readable report."""
