"""Sensors: what turns outside events into runs."""
