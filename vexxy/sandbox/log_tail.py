"""The tail of a workload's log, with every secret value hidden in the whole log before it is cut.

Cutting first and redacting the tail leaks the half of a secret that straddles the cut: the kept
half no longer matches the value. So the whole log is read, chunk by chunk (a workload may write a
lot of it), every character that belongs to a written form of a secret (`written_forms`) is hidden,
and only then are the last bytes kept. A run of hidden characters becomes one `[secret]`, so two
secrets that overlap are both hidden whole, whichever order they were set in.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence

from vexxy.sandbox.redaction import written_forms

PLACEHOLDER = "[secret]"
CHUNK_BYTES = 1 << 20
TAIL_BYTES = 2000


def _covered(text: str, needles: Sequence[str]) -> list[tuple[int, int]]:
    """The spans of `text` inside any occurrence of a needle (overlapping occurrences too), merged and sorted."""
    spans = []
    for needle in needles:
        start = text.find(needle)
        while start != -1:
            spans.append((start, start + len(needle)))
            start = text.find(needle, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _hidden(text: str, spans: list[tuple[int, int]], start: int, end: int, joined: bool) -> tuple[str, bool]:
    """`text[start:end]` with each run of hidden characters replaced by one placeholder, and whether it ends
    hidden. A span that begins before `start`, or at it when what came before ended hidden (`joined`),
    continues a run already emitted."""
    parts, position = [], start
    for span_start, span_end in spans:
        if span_end <= start or span_start >= end:
            continue
        if span_start > start or (span_start == start and not joined):
            parts += [text[position:span_start], PLACEHOLDER]
        position = min(span_end, end)
    parts.append(text[position:end])
    return "".join(parts), position == end and (position > start or joined)


def redacted_tail(chunks: Iterable[bytes], secrets: Sequence[str], limit: int = TAIL_BYTES) -> str:
    """The last `limit` bytes of the text in `chunks`, once every secret value is hidden in all of it.

    After each chunk, what an occurrence still arriving could cover (its longest written form, less
    one character) is carried into the next round; everything before is final. An occurrence that
    covers the boundary is hidden to its end at once; the characters of it that are carried are not
    emitted twice."""
    needles = written_forms(secrets)
    reach = max((len(n) for n in needles), default=1) - 1
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    kept, pending, emitted, joined = "", "", 0, False  # the first `emitted` characters of `pending` are in `kept`
    for chunk in chunks:
        pending += decoder.decode(chunk)
        final = len(pending) - reach  # an occurrence starting before this is whole in `pending`
        if final <= emitted:
            continue
        spans = _covered(pending, needles)
        cut = next((end for start, end in spans if start < final < end), final)
        text, joined = _hidden(pending, spans, emitted, cut, joined)
        kept = (kept + text)[-limit:]
        pending, emitted = pending[final:], cut - final
    pending += decoder.decode(b"", final=True)
    text, _ = _hidden(pending, _covered(pending, needles), emitted, len(pending), joined)
    return (kept + text).encode()[-limit:].decode(errors="replace").strip()
