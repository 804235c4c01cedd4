"""The one way a submission is made: the API, the Launchpad and the registry watch all call `submit`.

The submitter says what it asks for (`SubmissionRequest`); what it gets (observation window,
fuzzing, priority, the sealed configuration and its secret values) is decided here under the
organization's tier, and one analysis of quota is reserved in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from appdb.models import Submission, new_id
from billing.errors import PaymentRequired, QuotaExceeded
from billing.quota import organization_tier
from submissions import lifecycle
from submissions.terms import SubmissionTerms, TermsRefused, submission_terms, unconfigured_terms
from vexxy.config.model import AnalysisConfig, ConfigError, parse


@dataclass(frozen=True)
class SubmissionRequest:
    """What a submitter asks for; the terms it gets are `submit`'s decision."""

    organization_id: str
    image_reference: str
    source: str  # api, launchpad, registry_push, registry_poll
    submitted_by: str | None
    correlation_id: str
    observation_seconds: int | None = None  # None: the default window, within the tier
    fuzzing: bool = True
    fuzzing_asked: bool = False  # said explicitly: refused on a tier without fuzzing, not silently dropped
    priority: int = 0  # 0: the tier's default; clamped into the tier's band
    config: AnalysisConfig | dict | None = None  # a dict: a stored public form (a watched repository's default)
    submission_id: str | None = None


def submit(session: Session, request: SubmissionRequest, *, record_refusal: bool = False) -> Submission:
    """A queued submission on its tier's terms, with quota reserved, in the caller's transaction.

    A refusal raises `TermsRefused`, `QuotaExceeded` or `PaymentRequired` and writes nothing; with
    `record_refusal` (a submitter nobody waits on: the registry watch) the submission is recorded as
    failed at the "submission" step instead. An unknown organization raises `UnknownOrganization`.
    """
    plan = organization_tier(session, request.organization_id)
    try:
        terms = submission_terms(
            plan,
            observation_seconds=request.observation_seconds,
            fuzzing=request.fuzzing,
            fuzzing_asked=request.fuzzing_asked,
            priority=request.priority,
            config=_config(request.config),
        )
    except TermsRefused as exc:
        if not record_refusal:
            raise
        asked = unconfigured_terms(
            plan, observation_seconds=request.observation_seconds, fuzzing=request.fuzzing, priority=request.priority
        )
        return lifecycle.refused(session, Submission(**_fields(request, asked)), str(exc))
    if not record_refusal:
        return _create(session, request, terms)
    try:
        with session.begin_nested():
            return _create(session, request, terms)
    except (QuotaExceeded, PaymentRequired) as exc:
        return lifecycle.refused(session, Submission(**_fields(request, terms)), str(exc))


def _config(config: AnalysisConfig | dict | None) -> AnalysisConfig | None:
    """A stored configuration is read again here: one that no longer parses is refused like any invalid one."""
    if not isinstance(config, dict):
        return config
    try:
        return parse(config) if config else None
    except ConfigError as exc:
        raise TermsRefused("invalid_configuration", exc.message, hint=exc.hint) from None


def _create(session: Session, request: SubmissionRequest, terms: SubmissionTerms) -> Submission:
    fields = _fields(request, terms)
    return lifecycle.create(
        session,
        submission_id=fields.pop("id"),
        secrets=terms.sealed.secrets if terms.sealed else None,
        **fields,
    )


def _fields(request: SubmissionRequest, terms: SubmissionTerms) -> dict:
    """The submission's row as decided: who asked for what, on which terms."""
    sealed = terms.sealed
    return {
        "id": request.submission_id or new_id(),
        "organization_id": request.organization_id,
        "submitted_by": request.submitted_by,
        "source": request.source,
        "image_reference": request.image_reference,
        "priority": terms.priority,
        "fuzzing": terms.fuzzing,
        "observation_seconds": terms.observation_seconds,
        "correlation_id": request.correlation_id,
        "config": sealed.public if sealed else None,
        "config_hash": sealed.hash if sealed else None,
    }
