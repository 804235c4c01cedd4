"""Customers' analyses: submit, status, results, documents, list, cancel, delete.

The API only writes submissions and reads results: sensors turn submissions into Dagster runs,
and run status sensors write back how each one ended. Every query is scoped to the caller's
organization; another organization's analysis is a 404, never a 403.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as FastApiPath
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from appdb.models import Submission
from billing.errors import PaymentRequired, QuotaExceeded, UnknownOrganization
from submissions import lifecycle, service
from submissions.service import SubmissionRequest
from submissions.terms import TermsRefused
from vexxy.audit.diff import diff_statements
from vexxy.audit.explain import MAX_VULNERABILITY_ID, AnalysisDocuments, explain, valid_vulnerability_id
from vexxy.audit.stored import load_documents, read_lineage
from vexxy.config.model import AnalysisConfig
from vexxy.errors import InvalidReference
from vexxy.evidence.documents import (
    CYCLONEDX_VEX,
    FILTERED_SBOM,
    FUZZ_FINDINGS,
    FUZZ_FINDINGS_SARIF,
    OPENVEX,
    VEX_STATEMENTS,
    Document,
    run_location,
)
from vexxy.evidence.store import DocumentStore, EvidenceCorrupted, EvidenceMissing
from vexxy.oci.reference import parse_reference
from vexxy_api.auth import Caller, current_caller
from vexxy_api.egress import refuse_internal_registry
from vexxy_api.errors import ApiError, InvalidState, NotFound, correlation_id
from vexxy_api.limits import MAX_PAGE

router = APIRouter(prefix="/api/v1/analyses", tags=["analyses"])
AnalysisId = Annotated[str, FastApiPath(max_length=36, description="the analysis id (a UUID)")]
VulnerabilityId = Annotated[
    str,
    FastApiPath(max_length=MAX_VULNERABILITY_ID, description="a vulnerability id or alias: CVE-..., GHSA-..., PYSEC-..."),
]
DOCUMENTS = {
    ("vex", "openvex"): OPENVEX,
    ("vex", "cyclonedx"): CYCLONEDX_VEX,
    ("sbom", "cyclonedx"): FILTERED_SBOM,
    ("findings", "json"): FUZZ_FINDINGS,
    ("findings", "sarif"): FUZZ_FINDINGS_SARIF,
}


class SubmitAnalysis(BaseModel):
    image: str = Field(description="registry/repository:tag or registry/repository@sha256:<digest>", max_length=512)
    priority: int = Field(
        default=0, ge=0, le=9, description="urgency within the tier's priority band: 0 (the tier's default) to 9"
    )
    fuzzing: bool = True
    observation_seconds: int | None = Field(default=None, ge=10, le=3600)
    config: AnalysisConfig | None = Field(
        default=None,
        description="how to run the image: env, secret_env, command, args, working_dir, ports, readiness, scan seeds, "
        "roles; secret_env values are never stored in clear nor shown",
    )


def _view(submission: Submission) -> dict:
    base = f"/api/v1/analyses/{submission.id}"
    view = {
        "id": submission.id,
        "image": submission.image_reference,
        "image_digest": submission.image_digest,
        "status": submission.status,
        "phase": submission.phase,
        "progress": submission.progress,
        "priority": submission.priority,
        "fuzzing": submission.fuzzing,
        "observation_seconds": submission.observation_seconds,
        "config": submission.config or {},
        "config_hash": submission.config_hash,
        "source": submission.source,
        "created_at": submission.created_at.isoformat(),
        "updated_at": submission.updated_at.isoformat(),
        "links": {"self": base},
    }
    if submission.status == "failed":
        view["error"] = {"step": submission.error_step, "message": submission.error_message}
    if submission.status == "complete":
        view["links"].update(
            {
                "results": f"{base}/results",
                "vex": f"{base}/vex?format=openvex",
                "vex_cyclonedx": f"{base}/vex?format=cyclonedx",
                "sbom": f"{base}/sbom",
                "findings": f"{base}/findings?format=json",
                "findings_sarif": f"{base}/findings?format=sarif",
                "statement": f"{base}/statements/{{vulnerability}}",
                "diff": f"{base}/diff",
            }
        )
    return view


def _owned(request: Request, caller: Caller, analysis_id: str) -> Submission:
    with request.app.state.sessions() as session:
        submission = session.scalar(
            select(Submission).where(
                Submission.id == analysis_id, Submission.organization_id == caller.organization_id, Submission.deleted.is_(False)
            )
        )
    if submission is None:
        raise NotFound(f"Analysis {analysis_id}")
    return submission


@router.post("", status_code=201)
def submit(request: Request, body: SubmitAnalysis, caller: Caller = Depends(current_caller)) -> JSONResponse:
    try:
        ref = parse_reference(body.image)
    except InvalidReference as exc:
        raise ApiError(422, "invalid_image_reference", exc.message, exc.hint) from None
    refuse_internal_registry(request, ref.registry)
    asked = SubmissionRequest(
        organization_id=caller.organization_id,
        image_reference=body.image,
        source="api",
        submitted_by=caller.subject,
        correlation_id=correlation_id(request),
        observation_seconds=body.observation_seconds,
        fuzzing=body.fuzzing,
        fuzzing_asked="fuzzing" in body.model_fields_set,
        priority=body.priority,
        config=body.config,
    )
    try:
        with request.app.state.sessions.begin() as session:
            view = _view(service.submit(session, asked))
    except TermsRefused as exc:
        raise ApiError(422, exc.code, exc.message, exc.hint) from None
    except QuotaExceeded as exc:
        retry_after = max(1, math.ceil((exc.resets_at - datetime.now(UTC)).total_seconds()))
        raise ApiError(
            429,
            "quota_exceeded",
            exc.message,
            exc.hint,
            headers={"Retry-After": str(retry_after)},
            extra={"tier": exc.tier, "limit": exc.limit, "resets_at": exc.resets_at.isoformat()},
        ) from None
    except PaymentRequired as exc:
        raise ApiError(402, "payment_required", exc.message, exc.hint) from None
    except UnknownOrganization:
        raise ApiError(403, "unknown_organization", "The token's organization is not known to vexxy.") from None
    return JSONResponse(view, status_code=201, headers={"Location": view["links"]["self"]})


def _utc(value: datetime, name: str) -> datetime:
    """`value` in UTC (naive means UTC); databases refuse offsets beyond ±16 h and years outside 1..9999."""
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ApiError(422, "validation_error", f"The request is invalid: {name}: the time is out of range.") from None


@router.get("")
def list_analyses(
    request: Request,
    status: Literal["queued", "running", "complete", "failed", "cancelled"] | None = Query(None),
    image: str | None = Query(None, max_length=512, description="substring of the image reference"),
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    page_size: int = Query(50, ge=1, le=200),
    caller: Caller = Depends(current_caller),
) -> dict:
    query = select(Submission).where(Submission.organization_id == caller.organization_id, Submission.deleted.is_(False))
    if status:
        query = query.where(Submission.status == status)
    if image:
        query = query.where(Submission.image_reference.contains(image))
    if since:
        query = query.where(Submission.created_at >= _utc(since, "since"))
    if until:
        query = query.where(Submission.created_at < _utc(until, "until"))
    with request.app.state.sessions() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.order_by(Submission.created_at.desc(), Submission.seq.desc()).offset((page - 1) * page_size).limit(page_size)
        ).all()
    return {"page": page, "page_size": page_size, "total": total, "analyses": [_view(r) for r in rows]}


@router.get("/{analysis_id}")
def status(request: Request, analysis_id: AnalysisId, caller: Caller = Depends(current_caller)) -> dict:
    return _view(_owned(request, caller, analysis_id))


def _evidence(request: Request, submission: Submission, document: Document) -> bytes:
    """`document` as the submission's own run wrote it (another run of the same image never answers)."""
    if submission.status != "complete" or not submission.image_digest or not submission.run_id:
        raise InvalidState(f"Analysis {submission.id} is {submission.status}; results exist once it is complete.")
    try:
        location = run_location(document, submission.image_digest, submission.run_id)
        return DocumentStore(request.app.state.settings.evidence_dir).get(location)
    except (ValueError, EvidenceMissing):
        raise NotFound(f"{document.name} of analysis {submission.id}") from None


@router.get("/{analysis_id}/results")
def results(request: Request, analysis_id: AnalysisId, caller: Caller = Depends(current_caller)) -> dict:
    submission = _owned(request, caller, analysis_id)
    statements = json.loads(_evidence(request, submission, VEX_STATEMENTS))
    by_status: dict[str, int] = {}
    for statement in statements:
        by_status[statement["status"]] = by_status.get(statement["status"], 0) + 1
    findings = json.loads(_evidence(request, submission, FUZZ_FINDINGS))
    return {
        **_view(submission),
        "summary": {
            "statements": len(statements),
            "by_status": by_status,
            "fuzzing": findings.get("status"),
            "findings_by_risk": findings.get("by_risk", {}),
        },
    }


def _document(request: Request, caller: Caller, analysis_id: str, kind: str, fmt: str) -> Response:
    if (kind, fmt) not in DOCUMENTS:
        formats = ", ".join(f for k, f in DOCUMENTS if k == kind)
        raise ApiError(422, "unknown_format", f"Format {fmt!r} is not offered for {kind}; choose {formats}.")
    document = DOCUMENTS[(kind, fmt)]
    return Response(_evidence(request, _owned(request, caller, analysis_id), document), media_type=document.media_type)


@router.get("/{analysis_id}/vex")
def vex(
    request: Request, analysis_id: AnalysisId, format: str = Query("openvex"), caller: Caller = Depends(current_caller)
) -> Response:
    return _document(request, caller, analysis_id, "vex", format)


@router.get("/{analysis_id}/sbom")
def sbom(request: Request, analysis_id: AnalysisId, caller: Caller = Depends(current_caller)) -> Response:
    return _document(request, caller, analysis_id, "sbom", "cyclonedx")


@router.get("/{analysis_id}/findings")
def findings(
    request: Request, analysis_id: AnalysisId, format: str = Query("json"), caller: Caller = Depends(current_caller)
) -> Response:
    return _document(request, caller, analysis_id, "findings", format)


def _analysis_documents(request: Request, submission: Submission) -> tuple[dict | None, AnalysisDocuments]:
    """The lineage and documents behind the submission's own run's VEX, each checked against its recorded hash."""
    if submission.status != "complete" or not submission.image_digest or not submission.run_id:
        raise InvalidState(f"Analysis {submission.id} is {submission.status}; results exist once it is complete.")
    store = DocumentStore(request.app.state.settings.evidence_dir)
    try:
        lineage = read_lineage(store, submission.image_digest, submission.run_id)
        return lineage, load_documents(store, submission.image_digest, submission.run_id, lineage)
    except (ValueError, EvidenceMissing):
        raise NotFound(f"The VEX of analysis {submission.id}") from None
    except EvidenceCorrupted as exc:
        raise ApiError(500, "evidence_corrupted", exc.message, exc.hint) from None


@router.get("/{analysis_id}/statements/{vulnerability}")
def statement(
    request: Request, analysis_id: AnalysisId, vulnerability: VulnerabilityId, caller: Caller = Depends(current_caller)
) -> dict:
    """Why the analysis's statements about `vulnerability` are what they are: range, files, what was loaded and when."""
    if not valid_vulnerability_id(vulnerability):
        raise ApiError(
            422,
            "invalid_vulnerability_id",
            "The vulnerability id is malformed.",
            "Name it as the VEX does: CVE-2020-28493, GHSA-xxxx-xxxx-xxxx, PYSEC-2021-66, ...",
        )
    submission = _owned(request, caller, analysis_id)
    lineage, documents = _analysis_documents(request, submission)
    # what came before this run may be another organization's analysis of the same image: never named here
    provenance = {k: v for k, v in (lineage or {}).items() if k != "previous"}
    answers = explain(vulnerability, documents, provenance)
    if not answers:
        raise NotFound(f"A statement about {vulnerability} in analysis {analysis_id}")
    return {"analysis": analysis_id, "vulnerability": vulnerability, "statements": [a.to_dict() for a in answers]}


def _previous_analysis(request: Request, caller: Caller, submission: Submission) -> Submission:
    """The organization's latest complete analysis of the same image before `submission`."""
    with request.app.state.sessions() as session:
        previous = session.scalar(
            select(Submission)
            .where(
                Submission.organization_id == caller.organization_id,
                Submission.deleted.is_(False),
                Submission.status == "complete",
                Submission.image_digest == submission.image_digest,
                Submission.id != submission.id,
                Submission.created_at <= submission.created_at,
            )
            .order_by(Submission.created_at.desc(), Submission.seq.desc())
            .limit(1)
        )
    if previous is None:
        raise ApiError(
            404,
            "not_found",
            f"No earlier complete analysis of the image of analysis {submission.id}.",
            "Name the analysis to compare with: ?against=<analysis id>.",
        )
    return previous


def _repository(reference: str) -> tuple[str, str] | None:
    try:
        parsed = parse_reference(reference)
    except InvalidReference:
        return None
    return parsed.registry, parsed.repository


@router.get("/{analysis_id}/diff")
def diff(
    request: Request,
    analysis_id: AnalysisId,
    against: str | None = Query(None, max_length=36, description="the older analysis (default: the previous one of this image)"),
    caller: Caller = Depends(current_caller),
) -> dict:
    """What changed from an older analysis (of this image, or another build of its repository) to this one."""
    after = _owned(request, caller, analysis_id)
    before = _owned(request, caller, against) if against else _previous_analysis(request, caller, after)
    (_, older), (_, newer) = _analysis_documents(request, before), _analysis_documents(request, after)
    if before.image_digest == after.image_digest:
        kind = "same_image"
    elif _repository(before.image_reference) == _repository(after.image_reference):
        kind = "same_repository"
    else:
        kind = "other_repository"

    def side(submission: Submission) -> dict:
        return {"analysis": submission.id, "image": submission.image_reference, "image_digest": submission.image_digest}

    return {"kind": kind, **diff_statements(older.statements, newer.statements, side(before), side(after)).to_dict()}


def _owned_for_update(session, caller: Caller, analysis_id: str) -> Submission:
    """The caller's analysis, row-locked for a state change (another organization's is a 404)."""
    submission = session.scalar(
        select(Submission)
        .where(Submission.id == analysis_id, Submission.organization_id == caller.organization_id, Submission.deleted.is_(False))
        .with_for_update()
    )
    if submission is None:
        raise NotFound(f"Analysis {analysis_id}")
    return submission


@router.post("/{analysis_id}/cancel", status_code=202)
def cancel(request: Request, analysis_id: AnalysisId, caller: Caller = Depends(current_caller)) -> dict:
    with request.app.state.sessions.begin() as session:
        submission = _owned_for_update(session, caller, analysis_id)
        try:
            lifecycle.cancel(session, submission)
        except lifecycle.InvalidTransition as exc:
            raise InvalidState(exc.message, exc.hint) from None
        return _view(submission)


@router.delete("/{analysis_id}", status_code=204)
def delete(request: Request, analysis_id: AnalysisId, caller: Caller = Depends(current_caller)) -> Response:
    with request.app.state.sessions.begin() as session:
        submission = _owned_for_update(session, caller, analysis_id)
        try:
            lifecycle.delete(session, submission)
        except lifecycle.InvalidTransition as exc:
            raise InvalidState(exc.message, exc.hint) from None
    return Response(status_code=204)
