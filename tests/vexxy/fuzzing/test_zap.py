"""The ZAP path with the real `zaproxy` client against a server speaking ZAP's JSON API."""

import json

import pytest
from fake_zap import FakeZap, FakeZapState
from loopback_http import LoopbackServer, QuietHandler
from ports import closed_port

from vexxy.fuzzing.discovery import discover
from vexxy.fuzzing.routes import Route
from vexxy.fuzzing.sarif import sarif_errors, to_sarif
from vexxy.fuzzing.seeding import ScanSeeds
from vexxy.fuzzing.zap import ZapScanner


@pytest.fixture
def target():
    """A small HTTP target on loopback for the fake daemon's spider to fetch."""

    class Handler(QuietHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

    server = LoopbackServer()
    server.serve(Handler)
    yield f"{server.url}/"
    server.close()


@pytest.fixture
def zap():
    daemon = FakeZap()
    yield daemon
    daemon.close()


def scanner(zap, **overrides):
    settings = {"api_url": zap.url, "api_key": "zap-key", "poll_seconds": 0.05, "page_size": 2, **overrides}
    return ZapScanner(**settings)


def test_scan_pages_through_alerts_and_keeps_only_the_target(zap, target):
    zap.state.alerts_for_target = 5
    report = scanner(zap).scan(target, budget_seconds=20, allowed_hosts={"127.0.0.1"})
    assert report.status == "completed" and report.tool == "zap" and report.tool_version == "2.16.0"
    assert len(report.findings) == 5 and report.out_of_scope_dropped == 1
    assert {(f.cwe, f.risk) for f in report.findings} >= {(79, "high"), (89, "high")}
    assert all(f.url.startswith(target) for f in report.findings)
    assert zap.state.calls.count("alert/view/alerts") == 4  # pages of 2: 2 + 2 + 2 (one foreign) + 0
    assert zap.state.fetched and all(url.startswith(target) for url in zap.state.fetched)
    assert zap.state.contexts == {}  # the analysis context was removed
    assert "alert/action/deleteAlerts" in zap.state.calls
    assert sarif_errors(to_sarif(report)) == []


def test_bad_api_key_is_a_clear_failure(zap, target):
    report = scanner(zap, api_key="wrong").scan(target, budget_seconds=10, allowed_hosts={"127.0.0.1"})
    assert report.status == "failed"
    assert "rejected the API key" in report.reason and "VEXXY_ZAP_API_KEY" in report.reason


def test_daemon_that_is_down(target):
    report = ZapScanner(f"http://127.0.0.1:{closed_port()}", "k").scan(target, budget_seconds=10, allowed_hosts={"127.0.0.1"})
    assert report.status == "failed" and "is unreachable" in report.reason and "VEXXY_ZAP_URL" in report.reason


def test_scan_that_overruns_its_budget_is_stopped(target):
    daemon = FakeZap(FakeZapState(scan_step=0))
    try:
        report = scanner(daemon).scan(target, budget_seconds=2, allowed_hosts={"127.0.0.1"})
    finally:
        daemon.close()
    assert report.status == "partial" and "overran its 2 s budget" in report.reason
    assert daemon.state.stopped == ["0"]
    assert report.findings  # what was found before the stop is kept
    assert daemon.state.contexts == {}


def test_api_error_during_the_scan_is_reported_and_cleaned_up(zap, target):
    zap.state.ascan_error = ("scan_in_progress", "Scan In Progress")
    report = scanner(zap).scan(target, budget_seconds=10, allowed_hosts={"127.0.0.1"})
    assert report.status == "failed"
    assert report.reason == "starting the active scan: ZAP answered scan_in_progress: Scan In Progress"
    assert zap.state.contexts == {}


@pytest.fixture
def api_target():
    """A target serving an OpenAPI document (whose server is another host) and answering every request."""
    document = {
        "openapi": "3.0.3",
        "servers": [{"url": "http://203.0.113.5/"}],
        "paths": {"/api/import": {"post": {"requestBody": {"content": {"application/json": {"example": {"a": 1}}}}}}},
    }
    seen = []

    class Handler(QuietHandler):
        def answer(self):
            seen.append((self.command, self.path))
            body = json.dumps(document).encode() if self.path == "/openapi.json" else b"{}"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

    server = LoopbackServer()
    server.serve(Handler)
    yield f"{server.url}/", seen
    server.close()


def test_declared_routes_are_replayed_through_zap_on_the_workload_only(zap, api_target):
    target, seen = api_target
    description = discover(target).description
    seeds = ScanSeeds([*description.routes, Route("GET", "/status", "code"), Route("PUT", "/big", "code", body="x" * 9000)])
    report = scanner(zap).scan(target, budget_seconds=10, allowed_hosts={"127.0.0.1"}, seeds=seeds)
    assert report.status == "completed"
    assert report.reason == "1 declared routes with requests over 8 KiB were not given to ZAP"
    assert zap.state.sent == [("POST", f"{target}api/import", '{"a": 1}'), ("GET", f"{target}status", "")]
    assert ("POST", "/api/import") in seen and ("GET", "/status") in seen  # never the document's other server
    assert zap.state.calls.index("core/action/sendRequest") < zap.state.calls.index("ascan/action/scan")


def test_zap_refusing_manual_requests_still_scans_and_says_so(zap, api_target):
    target, _ = api_target
    zap.state.mode = "safe"
    seeds = ScanSeeds(discover(target).description.routes)
    report = scanner(zap).scan(target, budget_seconds=10, allowed_hosts={"127.0.0.1"}, seeds=seeds)
    assert report.status == "completed" and report.findings
    assert report.reason == (
        "declared routes not all given to ZAP: replaying a declared route: ZAP answered mode_violation: Mode Violation"
    )
