"""Submissions written straight into the application database, as the submission service would leave them."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import sessionmaker

from appdb.models import Submission
from billing.quota import check_quota


def stored_submission(sessions: sessionmaker, organization: str, reference: str, *, reserve: bool = True, **fields) -> str:
    """A submission row of `organization` for `reference`, with its quota reservation unless `reserve` is false;
    `fields` sets any other column (status, run_id, fuzzing, ...). Its id."""
    fields.setdefault("id", str(uuid.uuid4()))
    fields.setdefault("correlation_id", uuid.uuid4().hex)
    with sessions.begin() as session:
        if reserve:
            check_quota(session, organization, fields["id"])
        submission = Submission(organization_id=organization, image_reference=reference, **fields)
        session.add(submission)
        session.flush()
        return submission.id
