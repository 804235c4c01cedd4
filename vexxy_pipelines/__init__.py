"""vexxy's Dagster platform: assets, resources and sensors around the domain logic in `vexxy`."""
