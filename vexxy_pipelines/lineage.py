"""Which materialization of an upstream asset a run consumes, read from Dagster's event log.

A step reads the documents of the materialization it actually depends on, never "the newest file
on disk": the one made in this run (or in the run it re-executes), else the latest one recorded
before this run was created (a re-evaluation reuses an earlier run's sandbox evidence). Two runs
of one image at the same time therefore never read each other's documents. A re-evaluation of one
organization's analyses reads only the evidence of runs on the same terms (organization,
configuration, fuzzing, window), never another organization's latest analysis of the image.
"""

from __future__ import annotations

from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance, EventLogRecord

from vexxy_pipelines import tags


def materializations_in_run(instance: DagsterInstance, run_id: str, partition: str | None) -> dict[str, EventLogRecord]:
    """The last materialization of each asset for `partition` in the run `run_id`, by asset name."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    return {r.asset_key.to_user_string(): r for r in records if r.partition_key == partition and r.asset_key}


def materialization_in_run(instance: DagsterInstance, run_id: str, asset: str, partition: str | None) -> EventLogRecord | None:
    """The last materialization of `asset` for `partition` in the run `run_id`.

    Asks only for that asset and partition since the run began (a run re-evaluating a range of images
    holds hundreds of materializations: reading them all for each document read made a run's cost grow
    with the square of its images). Event timestamps come from the hosts' clocks: SKEW of margin.
    """
    began = _first_event_timestamp(instance, run_id)
    if began is None:
        return None
    records_filter = AssetRecordsFilter(
        asset_key=AssetKey(asset), asset_partitions=[partition] if partition else None, after_timestamp=began - SKEW
    )
    cursor = None
    while True:
        page = instance.fetch_materializations(records_filter, limit=_PAGE, cursor=cursor)
        for record in page.records:  # newest first: the first of this run is its last
            if record.run_id == run_id and record.partition_key == partition:
                return record
        if not page.has_more:
            return None
        cursor = page.cursor


SKEW = 3600.0
_PAGE = 50
_BEGAN: dict[str, float] = {}


def _first_event_timestamp(instance: DagsterInstance, run_id: str) -> float | None:
    """When the run's first event was recorded (its materializations come after)."""
    if run_id not in _BEGAN:
        records = instance.get_records_for_run(run_id, limit=1, ascending=True).records
        if not records:
            return None
        if len(_BEGAN) > 1000:
            _BEGAN.clear()
        _BEGAN[run_id] = records[0].timestamp
    return _BEGAN[run_id]


def consumed_materialization(instance: DagsterInstance, run_id: str, asset: str, partition: str | None) -> EventLogRecord | None:
    """This run's materialization of `asset`, else its parent runs', else the latest one before this run began."""
    current: str | None = run_id
    seen: set[str] = set()
    while current and current not in seen:
        seen.add(current)
        record = materialization_in_run(instance, current, asset, partition)
        if record is not None:
            return record
        run = instance.get_run_by_id(current)
        current = run.parent_run_id if run else None
    run_record = instance.get_run_record_by_id(run_id)
    created = run_record.create_timestamp.timestamp() if run_record and run_record.create_timestamp else None
    run_tags = run_record.dagster_run.tags if run_record else {}
    if partition is not None and run_tags.get(tags.REEVALUATES):
        return _latest_on_terms(instance, asset, partition, tags.analysis_terms(run_tags), created)
    records = instance.fetch_materializations(
        AssetRecordsFilter(
            asset_key=AssetKey(asset), asset_partitions=[partition] if partition else None, before_timestamp=created
        ),
        limit=1,
    ).records
    return records[0] if records else None


ORGANIZATION_LOOKBACK = 50
_TERMS: dict[str, tuple[str, str, str, str] | None] = {}


def _terms_of_run(instance: DagsterInstance, run_id: str) -> tuple[str, str, str, str] | None:
    if run_id not in _TERMS:
        if len(_TERMS) > 10000:
            _TERMS.clear()
        run = instance.get_run_by_id(run_id)
        _TERMS[run_id] = tags.analysis_terms(run.tags) if run is not None else None
    return _TERMS[run_id]


def _latest_on_terms(
    instance: DagsterInstance, asset: str, partition: str, terms: tuple, before: float | None
) -> EventLogRecord | None:
    """The newest materialization of `asset` for `partition` before `before` by a run on `terms` (None: none)."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[partition], before_timestamp=before),
        limit=ORGANIZATION_LOOKBACK,
    ).records
    return next((r for r in records if _terms_of_run(instance, r.run_id) == terms), None)


def latest_materialization_of(
    instance: DagsterInstance, asset: str, partition: str, organization: str | None
) -> EventLogRecord | None:
    """The newest materialization of `asset` for `partition` made by a run of `organization` (None: runs of none).

    An image's partition is shared by every organization that analyzes it: what one continues from (its
    previous VEX, with its times, version and inputs) must be its own. Looks this many materializations back."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[partition]), limit=ORGANIZATION_LOOKBACK
    ).records
    for record in records:
        run = instance.get_run_by_id(record.run_id)
        if run is not None and run.tags.get(tags.ORGANIZATION) == organization:
            return record
    return None


def latest_materialization(instance: DagsterInstance, asset: str, partition: str | None) -> EventLogRecord | None:
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[partition] if partition else None), limit=1
    ).records
    return records[0] if records else None
