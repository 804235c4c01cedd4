"""Every run-tag key vexxy writes or reads, in one place: they are a contract between the API's
submissions, the sensors, the assets, the CLI and the run queue's limits in `dagster.yaml`."""

from __future__ import annotations

ORGANIZATION = "vexxy/organization"  # the organization charged for the run (absent: an internal analysis)
SUBMISSION = "vexxy/submission"  # the submission the run answers (also the sensor's run_key)
PRIORITY = "vexxy/priority"
CORRELATION = "vexxy/correlation_id"  # the API request's correlation id, for logs across API, sensors and runs
REFERENCE = "vexxy/reference"  # the image reference as the customer wrote it
MANIFEST_DIGEST = "vexxy/manifest_digest"  # the full digest the partition key stands for (keys show 16+ hex of it)
INDEX_DIGEST = "vexxy/index_digest"  # the multi-platform index the partition's manifest came from
OBSERVATION_SECONDS = "vexxy/observation_seconds"
FUZZING = "vexxy/fuzzing"  # "true" | "false"
CONFIG_HASH = "vexxy/config_hash"  # the analysis configuration's hash (absent: the default configuration)
SECRETS = "vexxy/secrets"  # whose encrypted secret values the sandbox step reads (a submission or CLI invocation id)
INVOCATION = "vexxy/invocation"  # one CLI invocation, to find the run it started
VULNERABILITY_DB = "vexxy/vulnerability_db"  # the advisory snapshot a re-evaluation run was requested for
LAUNCHED_BY = "vexxy/launched_by"  # on an analysis run: the Launchpad run (`analyze_reference`) that asked for it
ANALYSIS_RUN = "vexxy/analysis_run"  # on a Launchpad run: the analysis run it started (added once that run exists)
REEVALUATES = "vexxy/reevaluates"  # a re-evaluation run of the analyses whose terms its tags repeat ("analysis")
DAGSTER_PRIORITY = "dagster/priority"  # Dagster's own: the run queue's order
DAGSTER_PARTITION = "dagster/partition"  # Dagster's own: the partition a run materializes
RANGE_START = "dagster/asset_partition_range_start"  # Dagster's own: the first partition of a range run
RANGE_END = "dagster/asset_partition_range_end"  # and its last


# The tags that tell one organization's analysis of a digest from another's: who, and everything that changes
# the evidence (configuration, fuzzing, observation window).
ANALYSIS_TERMS = (ORGANIZATION, CONFIG_HASH, FUZZING, OBSERVATION_SECONDS)


def analysis_terms(run_tags: dict[str, str]) -> tuple[str, str, str, str]:
    """The terms of the analysis a run made or re-evaluates, as its tags state them (absent: the defaults)."""
    return (
        run_tags.get(ORGANIZATION, ""),
        run_tags.get(CONFIG_HASH, ""),
        "false" if run_tags.get(FUZZING) == "false" else "true",
        run_tags.get(OBSERVATION_SECONDS, ""),
    )


def terms_tags(terms: tuple[str, str, str, str]) -> dict[str, str]:
    """The tags a re-evaluation of the analyses with `terms` carries (and reads its evidence by)."""
    return {REEVALUATES: "analysis", **{tag: value for tag, value in zip(ANALYSIS_TERMS, terms, strict=True) if value}}


def concurrency(tier: str) -> str:
    """One key per tier; the run queue limits concurrent runs per unique value (the organization)."""
    return f"vexxy/concurrency-{tier}"
