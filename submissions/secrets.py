"""A submission's (or a CLI invocation's) sealed secret values: kept only while it may still start or run.

The rows hold what `vexxy.config.secret_box` encrypted; nothing here can read the values.
Every function works inside the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from appdb.models import AnalysisSecret


def store_secrets(session: Session, owner_id: str, ciphertext: bytes) -> None:
    """Keep the encrypted secret values of `owner_id` (a submission id or a CLI invocation's id)."""
    session.add(AnalysisSecret(owner_id=owner_id, ciphertext=ciphertext))


def drop_secrets(session: Session, owner_ids: list[str]) -> None:
    """Forget the secret values of these submissions (or CLI invocations)."""
    if owner_ids:
        session.execute(delete(AnalysisSecret).where(AnalysisSecret.owner_id.in_(owner_ids)))


def secrets_of(session: Session, owner_id: str) -> bytes | None:
    row = session.get(AnalysisSecret, owner_id)
    return bytes(row.ciphertext) if row is not None else None
