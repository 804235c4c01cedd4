"""vexxy's domain logic: images, SBOMs, advisories, matching and VEX, with no Dagster in sight."""
