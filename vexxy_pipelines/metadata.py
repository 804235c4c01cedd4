"""Small Markdown tables for asset metadata (kept short: it is stored per partition).

Cells hold file names, purls, versions and text an image wrote: every Markdown character in them is
escaped, so `__init__.py` reads as itself, not as bold "init.py", and nothing in a cell becomes a link,
an HTML tag or an extra column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from dagster import MetadataValue

# The characters that open emphasis, code, links, HTML, entities or a new column inside a GFM table cell.
_MARKUP = re.compile(r"([\\`*_\[\]<>|~&])")


def md_escape(cell: object) -> str:
    """One table cell as literal text: Markdown characters backslash-escaped, on one line."""
    return _MARKUP.sub(r"\\\1", " ".join(str(cell).split()))


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]], limit: int = 25) -> MetadataValue:
    rows = list(rows)
    lines = ["| " + " | ".join(md_escape(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    for row in rows[:limit]:
        lines.append("| " + " | ".join(md_escape(cell) for cell in row) + " |")
    if len(rows) > limit:
        lines.append(f"\n… and {len(rows) - limit} more")
    return MetadataValue.md("\n".join(lines))
