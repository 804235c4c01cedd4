"""Prometheus metrics (`GET /metrics`): the API's requests, and what the application database holds.

Requests are counted by method, route template (`/api/v1/analyses/{analysis_id}`, never the raw
path, so a client cannot create series at will) and status; a request no route answered (an
unknown path, or one refused before routing) is counted under the route `unmatched`. Analyses by
state, the queue depth and charges by outcome are read from the application database at each
scrape, so every replica reports the same figures. Each application has its own registry.
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from appdb.models import BillingEvent, Submission
from submissions.lifecycle import CANCELLED, COMPLETE, FAILED, QUEUED, RUNNING
from vexxy_api.errors import DATABASE_DOWN
from vexxy_api.logs import log_event

log = logging.getLogger("vexxy.api")
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STATES = (QUEUED, RUNNING, COMPLETE, FAILED, CANCELLED)
CHARGE = "analysis_charge"

router = APIRouter()


class ApplicationDatabaseCollector:
    """Analyses by state, queued analyses and charges by outcome, counted in the application database when scraped.
    A database that does not answer leaves them out and sets `vexxy_app_database_up` to 0: the scrape still works."""

    def __init__(self, sessions: sessionmaker):
        self.sessions = sessions

    def describe(self):
        return []  # nothing is read at registration

    def collect(self):
        up = GaugeMetricFamily("vexxy_app_database_up", "1 when the application database answered this scrape, else 0.")
        try:
            with self.sessions() as session:
                states = dict(
                    session.execute(
                        select(Submission.status, func.count()).where(Submission.deleted.is_(False)).group_by(Submission.status)
                    ).all()
                )
                charges = dict(
                    session.execute(
                        select(BillingEvent.status, func.count()).where(BillingEvent.kind == CHARGE).group_by(BillingEvent.status)
                    ).all()
                )
        except DATABASE_DOWN as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[:1]
            log_event(log, logging.WARNING, "metrics_database_unavailable", error=reason[0] if reason else "")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        analyses = GaugeMetricFamily(
            "vexxy_analyses", "Analyses (submissions, deleted ones excepted) by state.", labels=["state"]
        )
        for state in sorted(set(STATES) | set(states)):
            analyses.add_metric([state], states.get(state, 0))
        yield analyses
        yield GaugeMetricFamily(
            "vexxy_analysis_queue_depth", "Analyses submitted and not yet started (state queued).", value=states.get(QUEUED, 0)
        )
        outcomes = GaugeMetricFamily(
            "vexxy_charges", "Analysis charges in the billing ledger by outcome (the ledger row's status).", labels=["outcome"]
        )
        for outcome, count in sorted(charges.items()):
            outcomes.add_metric([outcome], count)
        yield outcomes


class ApiMetrics:
    """One application's registry: request counters and durations, the database collector, process figures."""

    def __init__(self, sessions: sessionmaker):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vexxy_api_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "vexxy_api_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(ApplicationDatabaseCollector(sessions))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """The registry in the format the scraper asked for (Prometheus text or OpenMetrics), and its content type."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type


def route_template(scope: dict) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED


class RequestMetrics:
    """Pure ASGI middleware, outermost: it sees every answer, including requests refused before routing."""

    def __init__(self, app, metrics: ApiMetrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), 500  # an exception that escapes is answered with a 500

        async def send_and_note(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.observe(scope["method"], route_template(scope), status, time.perf_counter() - started)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The Prometheus text exposition; for the cluster's scraper, not routed through the ingress."""
    body, content_type = request.app.state.metrics.exposition(request.headers.get("accept", ""))
    return Response(body, headers={"Content-Type": content_type})
