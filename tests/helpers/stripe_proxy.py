"""`localstripe` with what it lacks, in front of it: Stripe's idempotency-key replay, and faults.

The real `stripe` SDK talks to this proxy exactly as it talks to Stripe. It forwards to a
`localstripe` process and adds: replay of a POST's response for a repeated `Idempotency-Key`
(409 while the first request is still in flight, 400 if the parameters differ, as Stripe does);
Checkout and Customer Portal sessions; and injected faults: 5xx answers, responses delayed past
the client's timeout after Stripe already acted, and killing the calling process right after
Stripe accepted a charge.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from loopback_http import LoopbackServer, QuietHandler
from ports import free_port


@dataclass
class Faults:
    fail_with_500: int = 0  # answer the next N POSTs to payment_intents with 500, without forwarding
    delay_after_forward: int = 0  # forward the next N, then hold the answer past the client's timeout
    delay_seconds: float = 5.0
    kill_after_forward_pid: int | None = None  # forward the next payment_intents POST, then SIGKILL this pid


@dataclass
class ProxyState:
    faults: Faults = field(default_factory=Faults)
    replays: dict[str, tuple[str, int, bytes]] = field(default_factory=dict)  # key -> (body fingerprint, status, response)
    in_flight: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    log: list[str] = field(default_factory=list)


class StripeProxy(LoopbackServer):
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.state = ProxyState()
        state, proxy = self.state, self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def send(self, status: int, body: bytes, headers: dict[str, str] | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def error(self, status: int, kind: str, message: str):
                self.send(status, json.dumps({"error": {"type": kind, "message": message}}).encode())

            def forward(self, method: str, body: bytes | None):
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type", "stripe-version")
                }
                response = httpx.request(method, proxy.upstream + self.path, content=body, headers=headers, timeout=30)
                return response.status_code, response.content

            def do_GET(self):
                status, content = self.forward("GET", None)
                self.send(status, content)

            def do_DELETE(self):
                status, content = self.forward("DELETE", None)
                self.send(status, content)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                state.log.append(f"POST {self.path}")
                if self.path.startswith(("/v1/checkout/sessions", "/v1/billing_portal/sessions")):
                    kind = "cs" if "checkout" in self.path else "bps"
                    return self.send(
                        200,
                        json.dumps(
                            {
                                "id": f"{kind}_{secrets.token_hex(8)}",
                                "object": "session",
                                "url": f"https://stripe.test/{kind}/{secrets.token_hex(8)}",
                            }
                        ).encode(),
                    )
                key = self.headers.get("Idempotency-Key")
                charging = self.path.startswith("/v1/payment_intents") and self.path.count("/") == 2
                if key:
                    with state.lock:
                        if key in state.replays:
                            fingerprint, status, content = state.replays[key]
                            if fingerprint != body.decode():
                                return self.error(
                                    400,
                                    "idempotency_error",
                                    "Keys for idempotent requests can only be used with "
                                    "the same parameters they were first used with.",
                                )
                            return self.send(status, content, {"Idempotent-Replayed": "true"})
                        if key in state.in_flight:
                            return self.error(
                                409,
                                "idempotency_error",
                                "There is currently another in-progress request using this Idempotent Key.",
                            )
                        state.in_flight.add(key)
                try:
                    if charging and state.faults.fail_with_500 > 0:
                        state.faults.fail_with_500 -= 1
                        return self.error(500, "api_error", "Injected failure: Stripe had a problem.")
                    status, content = self.forward("POST", body)
                    if key and status < 500:
                        state.replays[key] = (body.decode(), status, content)
                    if charging and state.faults.kill_after_forward_pid:
                        pid, state.faults.kill_after_forward_pid = state.faults.kill_after_forward_pid, None
                        os.kill(pid, signal.SIGKILL)  # Stripe accepted the charge; the caller never learns it
                        return self.error(500, "api_error", "the caller is gone")
                    if charging and state.faults.delay_after_forward > 0:
                        state.faults.delay_after_forward -= 1
                        time.sleep(state.faults.delay_seconds)
                    return self.send(status, content)
                finally:
                    if key:
                        with state.lock:
                            state.in_flight.discard(key)

        self.serve(Handler)


class LocalStripe:
    """A `localstripe` process on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        binary = Path(sys.executable).parent / "localstripe"
        self.process = subprocess.Popen(
            [str(binary), "--port", str(self.port), "--from-scratch"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/v1/customers", auth=("sk_test_vexxy", ""), timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("localstripe did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def payment_intents(self) -> list[dict]:
        found, params = [], {"limit": 100}
        while True:
            page = httpx.get(f"{self.url}/v1/payment_intents", params=params, auth=("sk_test_vexxy", "")).json()
            found += page["data"]
            if not page.get("has_more"):
                return found
            params["starting_after"] = page["data"][-1]["id"]

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
