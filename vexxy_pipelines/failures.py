"""Turn vexxy's user-facing errors into Dagster failures that name the input and the fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Failure, MetadataValue

from vexxy.errors import VexxyError


@contextmanager
def fail_clearly(subject: str) -> Iterator[None]:
    """Fail only this step, with the error's own message (no traceback soup in the UI)."""
    try:
        yield
    except VexxyError as exc:
        raise Failure(
            description=str(exc),
            metadata={
                "subject": subject,
                "error": MetadataValue.text(exc.__class__.__name__),
                **({"what_to_do": MetadataValue.text(exc.hint)} if exc.hint else {}),
            },
            allow_retries=False,
        ) from exc
