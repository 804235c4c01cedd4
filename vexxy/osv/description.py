"""The one-line description a statement carries for an advisory: its summary, else the start of its details.

Details can run to pages; the description is cut at a word boundary and ends with an ellipsis, so a reader
never sees a half word and knows there is more in the advisory itself.
"""

from __future__ import annotations

DESCRIPTION_LIMIT = 300
ELLIPSIS = "…"


def describe_advisory(summary: str, details: str, limit: int = DESCRIPTION_LIMIT) -> str:
    if summary.strip():
        return excerpt(summary, limit)
    return excerpt(details, limit)


def excerpt(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """The text with whitespace runs collapsed, whole if it fits in `limit` characters, else cut between words."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit - len(ELLIPSIS) + 1]
    cut = head.rfind(" ")
    head = head[:cut] if cut > 0 else head[: limit - len(ELLIPSIS)]
    return head.rstrip(" ,;:.-") + ELLIPSIS
