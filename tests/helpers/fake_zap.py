"""A local server speaking the ZAP API's JSON wire format, for the real `zaproxy` client.

Built from ZAP's API documentation for the calls vexxy makes: the client sends absolute-form
requests (`GET http://zap/JSON/<component>/<view|action>/<name>/?...`) to the daemon as a proxy,
with the key in `X-ZAP-API-Key`. Errors are HTTP 400 with `{"code", "message"}` bodies. Its
spider really fetches the target (so the workload is driven), its scans progress per poll.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import httpx
from loopback_http import LoopbackServer, QuietHandler


@dataclass
class FakeZapState:
    api_key: str = "zap-key"
    version: str = "2.16.0"
    scan_step: int = 34  # percent per status poll; 0 = the active scan never finishes
    alerts_for_target: int = 3
    foreign_alerts: int = 1  # alerts naming another host (must be dropped by the client side)
    calls: list[str] = field(default_factory=list)
    contexts: dict[str, int] = field(default_factory=dict)
    spider_progress: dict[str, int] = field(default_factory=dict)
    ascan_progress: dict[str, int] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    target: str = ""
    ascan_error: tuple[str, str] | None = None  # (code, message) to answer the active scan with
    mode: str = "standard"  # "safe" refuses manual requests
    sent: list[tuple[str, str, str]] = field(default_factory=list)  # (method, url, body) of manual requests


def alert(index: int, url: str) -> dict:
    kinds = [
        ("40012", "Cross Site Scripting (Reflected)", "High", "79", "8", "q", "<script>alert(1)</script>"),
        ("40018", "SQL Injection", "High", "89", "19", "id", "1'"),
        ("10021", "X-Content-Type-Options Header Missing", "Low", "693", "15", "", ""),
    ]
    plugin, name, risk, cwe, wasc, param, attack = kinds[index % len(kinds)]
    return {
        "id": str(index),
        "pluginId": plugin,
        "alertRef": plugin,
        "alert": name,
        "name": name,
        "risk": risk,
        "confidence": "Medium",
        "cweid": cwe,
        "wascid": wasc,
        "url": url,
        "method": "GET",
        "param": param,
        "attack": attack,
        "evidence": attack,
        "description": f"{name} description",
        "solution": "Fix it.",
        "other": "",
        "reference": "",
        "messageId": str(index),
        "inputVector": "queryString",
        "sourceid": "1",
        "tags": {},
    }


class FakeZap(LoopbackServer):
    def __init__(self, state: FakeZapState | None = None):
        self.state = state or FakeZapState()
        state_ref = self.state

        class Handler(QuietHandler):
            def answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                parts = [p for p in url.path.split("/") if p]
                if url.netloc != "zap" or len(parts) < 4 or parts[0] != "JSON":
                    return self.answer(400, {"code": "bad_format", "message": "Bad Format"})
                _, component, kind, name = parts[:4]
                state_ref.calls.append(f"{component}/{kind}/{name}")
                if self.headers.get("X-ZAP-API-Key") != state_ref.api_key:
                    return self.answer(400, {"code": "bad_api_key", "message": "Bad API Key"})
                handler = ROUTES.get((component, kind, name))
                if handler is None:
                    return self.answer(400, {"code": "bad_view" if kind == "view" else "bad_action", "message": "No Implementor"})
                status, body = handler(state_ref, query)
                return self.answer(status, body)

        self.serve(Handler)


def _spider(state: FakeZapState, q: dict):
    state.target = q["url"]
    for path in ("", "search?q=shoes", "item?id=1"):  # a real crawl of the target, nothing else
        try:
            httpx.get(q["url"] + path, timeout=5)
            state.fetched.append(q["url"] + path)
        except httpx.HTTPError:
            pass
    scan_id = str(len(state.spider_progress))
    state.spider_progress[scan_id] = 100
    return 200, {"scan": scan_id}


def _ascan(state: FakeZapState, q: dict):
    if state.ascan_error:
        return 400, {"code": state.ascan_error[0], "message": state.ascan_error[1]}
    if q.get("contextId") not in {str(v) for v in state.contexts.values()}:
        return 400, {"code": "context_not_found", "message": "Context Not Found"}
    scan_id = str(len(state.ascan_progress))
    state.ascan_progress[scan_id] = 0
    return 200, {"scan": scan_id}


def _ascan_status(state: FakeZapState, q: dict):
    scan_id = q.get("scanId", "0")
    if scan_id not in state.ascan_progress:
        return 400, {"code": "does_not_exist", "message": "Does Not Exist", "detail": "scanId"}
    if state.scan_step and scan_id not in state.stopped:
        state.ascan_progress[scan_id] = min(100, state.ascan_progress[scan_id] + state.scan_step)
    return 200, {"status": str(state.ascan_progress[scan_id])}


def _ascan_stop(state: FakeZapState, q: dict):
    state.stopped.append(q.get("scanId"))
    return 200, {"Result": "OK"}


def _alerts(state: FakeZapState, q: dict):
    """Alerts under `baseurl`, plus `foreign_alerts` naming another host: a daemon shared with other
    work may hold those, and the client must never report them."""
    base = q.get("baseurl", "")
    matching = [alert(i, f"{state.target}item?id={i}") for i in range(state.alerts_for_target) if state.target.startswith(base)]
    matching += [alert(i, f"http://198.51.100.9/elsewhere/{i}") for i in range(state.foreign_alerts)]
    start, count = int(q.get("start", 0)), int(q.get("count", 0) or len(matching))
    return 200, {"alerts": matching[start : start + count]}


def _send_request(state: FakeZapState, q: dict):
    """What ZAP does: send the whole request as given (absolute-form request line) and return the message."""
    if state.mode == "safe":
        return 400, {"code": "mode_violation", "message": "Mode Violation"}
    head, _, body = q["request"].partition("\r\n\r\n")
    request_line, *header_lines = head.split("\r\n")
    method, url, _ = request_line.split(" ")
    headers = dict(line.split(": ", 1) for line in header_lines)
    headers.pop("Content-Length", None)
    response = httpx.request(method, url, content=body.encode() or None, headers=headers, timeout=5)
    state.sent.append((method, url, body))
    return 200, {"sendRequest": [{"requestHeader": head, "responseHeader": f"HTTP/1.1 {response.status_code}"}]}


def _new_context(state: FakeZapState, q: dict):
    name = q["contextName"]
    if name in state.contexts:
        return 400, {"code": "already_exists", "message": "Already Exists"}
    state.contexts[name] = len(state.contexts) + 1
    return 200, {"contextId": str(state.contexts[name])}


def _remove_context(state: FakeZapState, q: dict):
    if state.contexts.pop(q.get("contextName"), None) is None:
        return 400, {"code": "context_not_found", "message": "Context Not Found"}
    return 200, {"Result": "OK"}


ROUTES = {
    ("core", "view", "version"): lambda s, q: (200, {"version": s.version}),
    ("core", "action", "newSession"): lambda s, q: (200, {"Result": "OK"}),
    ("context", "action", "newContext"): _new_context,
    ("context", "action", "includeInContext"): lambda s, q: (
        (200, {"Result": "OK"})
        if q.get("contextName") in s.contexts
        else (400, {"code": "context_not_found", "message": "Context Not Found"})
    ),
    ("context", "action", "removeContext"): _remove_context,
    ("spider", "action", "scan"): _spider,
    ("spider", "view", "status"): lambda s, q: (200, {"status": str(s.spider_progress.get(q.get("scanId", "0"), 0))}),
    ("spider", "action", "stop"): lambda s, q: (200, {"Result": "OK"}),
    ("ajaxSpider", "action", "scan"): lambda s, q: (200, {"Result": "OK"}),
    ("ajaxSpider", "view", "status"): lambda s, q: (200, {"status": "stopped"}),
    ("ascan", "action", "scan"): _ascan,
    ("ascan", "view", "status"): _ascan_status,
    ("ascan", "action", "stop"): _ascan_stop,
    ("alert", "view", "alerts"): _alerts,
    ("alert", "action", "deleteAlerts"): lambda s, q: (200, {"Result": "OK"}),
    ("core", "action", "sendRequest"): _send_request,
}
