"""Small Markdown tables for asset metadata (kept short: it is stored per partition)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dagster import MetadataValue


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]], limit: int = 25) -> MetadataValue:
    rows = list(rows)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows[:limit]:
        lines.append("| " + " | ".join(str(cell).replace("|", "\\|").replace("\n", " ") for cell in row) + " |")
    if len(rows) > limit:
        lines.append(f"\n… and {len(rows) - limit} more")
    return MetadataValue.md("\n".join(lines))
