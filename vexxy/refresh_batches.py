"""Group the images to re-evaluate into runs of at most N partitions each.

A Dagster run covers a *range* of partitions (every key from its first to its last, in the order
the partitions were added), so a batch is a run of consecutive analyzed keys: an image that was
never analyzed ends one batch and the next analyzed key starts another. A fleet of M analyzed
images takes about M / N runs, plus one per gap.
"""

from __future__ import annotations

from collections.abc import Container, Sequence


def contiguous_batches(keys_in_order: Sequence[str], analyzed: Container[str], size: int) -> list[list[str]]:
    """Consecutive runs of analyzed keys from `keys_in_order`, none longer than `size`."""
    if size < 1:
        raise ValueError("a batch holds at least one partition")
    batches: list[list[str]] = []
    current: list[str] = []
    for key in keys_in_order:
        if key not in analyzed:
            if current:
                batches.append(current)
                current = []
            continue
        current.append(key)
        if len(current) == size:
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches
