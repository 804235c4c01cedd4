"""Dagster resources: thin, environment-configured handles on vexxy's domain clients."""
