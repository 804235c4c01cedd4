"""A Kubernetes API server stand-in: the REST wire format for the few resources the sandbox uses.

No Kubernetes API server can be installed on the test machines, so the sandbox backend's real
`kubernetes` client talks to this instead: pods (with the status and log subresources),
services, network policies, config maps, secrets, Jobs (what dagster-k8s submits) and
Kubescape's `applicationprofiles` / `containerprofiles`; create (201, 409 AlreadyExists), get (404 NotFound), list with label and
field selectors, replace and merge-patch (the status subresource changes only the status),
delete, and watch from a resourceVersion (410 Expired once compacted), streamed as chunked
JSON lines the way the API server does. Every object ever created is remembered, so a test can
check that everything created was deleted. Tests only.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

KUBESCAPE = "spdx.softwarecomposition.kubescape.io/v1beta1"
KINDS = {
    # plural: (api prefix, kind, has status subresource)
    "pods": ("/api/v1", "Pod", True),
    "services": ("/api/v1", "Service", False),
    "configmaps": ("/api/v1", "ConfigMap", False),
    "secrets": ("/api/v1", "Secret", False),
    "networkpolicies": ("/apis/networking.k8s.io/v1", "NetworkPolicy", False),
    "jobs": ("/apis/batch/v1", "Job", True),
    "applicationprofiles": (f"/apis/{KUBESCAPE}", "ApplicationProfile", False),
    "containerprofiles": (f"/apis/{KUBESCAPE}", "ContainerProfile", False),
}
_PATH = re.compile(
    r"^(?P<prefix>/api/v1|/apis/[^/]+/[^/]+)/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)"
    r"(?:/(?P<name>[^/]+)(?:/(?P<sub>status|log))?)?$"
)


def _status(code: int, reason: str, message: str) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _merge_patch(target: dict, patch: dict) -> dict:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _matches(obj: dict, labels: str | None, fields: str | None) -> bool:
    for term in filter(None, (labels or "").split(",")):
        key, _, value = term.partition("=")
        if (obj["metadata"].get("labels") or {}).get(key) != value:
            return False
    for term in filter(None, (fields or "").split(",")):
        key, _, value = term.partition("=")
        if key == "metadata.name" and obj["metadata"]["name"] != value:
            return False
        if key == "metadata.namespace" and obj["metadata"].get("namespace") != value:
            return False
    return True


class KubeApiStandIn:
    def __init__(self, cluster_ip: str = "127.0.0.1", kubescape: bool = True):
        self.cluster_ip = cluster_ip
        self.kubescape = kubescape
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.events: list[tuple[int, str, str, str, dict]] = []  # (rv, plural, namespace, type, object)
        self.created: list[tuple[str, str, str]] = []
        self.bodies: dict[tuple[str, str, str], dict] = {}  # each created object as it was first stored
        self.expired_watches = 0
        self.logs: dict[tuple[str, str], str] = {}
        self.compacted = 0
        self._rv = itertools.count(1)
        self.version = 0
        self.changed = threading.Condition()
        self.requests: list[tuple[str, str]] = []
        self.failing_deletes: dict[str, int] = {}  # plural -> how many deletes of it answer 500 first

    # --- state ----------------------------------------------------------------------------

    def _commit(self, plural: str, namespace: str, kind: str, obj: dict) -> dict:
        """Give `obj` the next resourceVersion and record the event (call with the lock held)."""
        self.version = next(self._rv)
        obj["metadata"]["resourceVersion"] = str(self.version)
        self.events.append((self.version, plural, namespace, kind, copy.deepcopy(obj)))
        self.changed.notify_all()
        return obj

    def compact(self) -> None:
        """Forget the event history, as etcd compaction does: older watches get 410 Gone."""
        with self.changed:
            self.compacted = self.version
            self.events.clear()

    def live(self, plural: str | None = None) -> list[tuple[str, str, str]]:
        with self.changed:
            return sorted(key for key in self.objects if plural is None or key[0] == plural)

    def leftovers(self) -> list[tuple[str, str, str]]:
        """Objects created through the API that still exist."""
        with self.changed:
            return sorted(key for key in set(self.created) if key in self.objects)

    def put(self, plural: str, namespace: str, obj: dict) -> dict:
        """Create or replace an object directly (what another controller would have written)."""
        with self.changed:
            obj = copy.deepcopy(obj)
            obj.setdefault("metadata", {})["namespace"] = namespace
            key = (plural, namespace, obj["metadata"]["name"])
            kind = "MODIFIED" if key in self.objects else "ADDED"
            obj["metadata"].setdefault("uid", str(uuid.uuid4()))
            self.objects[key] = self._commit(plural, namespace, kind, obj)
            return copy.deepcopy(obj)

    # --- HTTP -----------------------------------------------------------------------------

    def start(self) -> KubeApiStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, code: int, body: dict | str) -> None:
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}") if length else {}

            def _route(self, method: str) -> None:
                url = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                stand_in.requests.append((method, url.path))
                if url.path == f"/apis/{KUBESCAPE}" and method == "GET":
                    if not stand_in.kubescape:
                        return self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
                    return self._send(200, stand_in.discovery())
                match = _PATH.match(url.path)
                if not match or match["plural"] not in KINDS or KINDS[match["plural"]][0] != match["prefix"]:
                    return self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
                if match["prefix"].startswith(f"/apis/{KUBESCAPE}") and not stand_in.kubescape:
                    return self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
                handler = getattr(stand_in, f"_{method.lower()}")
                if method == "GET" and not match["name"] and query.get("watch", "").lower() in ("true", "1"):
                    return stand_in._watch(self, match["plural"], match["ns"], query)
                body = self._body() if method in ("POST", "PUT", "PATCH") else {}
                code, response = handler(match["plural"], match["ns"], match["name"], match["sub"], query, body)
                self._send(code, response)

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

            def do_PUT(self):
                self._route("PUT")

            def do_PATCH(self):
                self._route("PATCH")

            def do_DELETE(self):
                self._route("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        with self.changed:
            self.stopped = True
            self.changed.notify_all()
        self.server.shutdown()
        self.server.server_close()

    def discovery(self) -> dict:
        resources = [
            {
                "name": plural,
                "singularName": kind.lower(),
                "namespaced": True,
                "kind": kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            }
            for plural, (prefix, kind, _) in KINDS.items()
            if prefix == f"/apis/{KUBESCAPE}"
        ]
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": KUBESCAPE, "resources": resources}

    # --- verbs (each returns status code and body) ------------------------------------------

    def _get(self, plural, namespace, name, sub, query, body):
        with self.changed:
            if name is None:
                items = [
                    copy.deepcopy(obj)
                    for (p, ns, _), obj in sorted(self.objects.items())
                    if p == plural and ns == namespace and _matches(obj, query.get("labelSelector"), query.get("fieldSelector"))
                ]
                prefix, kind, _ = KINDS[plural]
                api_version = "v1" if prefix == "/api/v1" else prefix.removeprefix("/apis/")
                return 200, {
                    "kind": f"{kind}List",
                    "apiVersion": api_version,
                    "metadata": {"resourceVersion": str(self.version)},
                    "items": items,
                }
            obj = self.objects.get((plural, namespace, name))
            if obj is None:
                return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
            if sub == "log":
                return 200, self.logs.get((namespace, name), "")
            return 200, copy.deepcopy(obj)

    def _post(self, plural, namespace, name, sub, query, body):
        if name is not None:
            return 405, _status(405, "MethodNotAllowed", "create on a named object")
        with self.changed:
            meta = body.setdefault("metadata", {})
            if not meta.get("name"):
                return 422, _status(422, "Invalid", "metadata.name: Required value")
            key = (plural, namespace, meta["name"])
            if key in self.objects:
                return 409, _status(409, "AlreadyExists", f'{plural} "{meta["name"]}" already exists')
            meta.update(
                namespace=namespace,
                uid=str(uuid.uuid4()),
                creationTimestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            if plural == "services":
                body.setdefault("spec", {})["clusterIP"] = self.cluster_ip
            if plural == "pods":
                body["status"] = {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False"}]}
            self.objects[key] = self._commit(plural, namespace, "ADDED", body)
            self.created.append(key)
            self.bodies[key] = copy.deepcopy(body)
            return 201, copy.deepcopy(body)

    def _put(self, plural, namespace, name, sub, query, body):
        with self.changed:
            current = self.objects.get((plural, namespace, name))
            if current is None:
                return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
            sent = (body.get("metadata") or {}).get("resourceVersion")
            if sent and sent != current["metadata"]["resourceVersion"]:
                return 409, _status(
                    409, "Conflict", "the object has been modified; please apply your changes to the latest version"
                )
            updated = copy.deepcopy(current)
            if sub == "status":
                updated["status"] = body.get("status") or {}
            else:
                updated.update({k: v for k, v in body.items() if k != "status"})
                updated["metadata"] = {**current["metadata"], **body.get("metadata", {})}
            self.objects[(plural, namespace, name)] = self._commit(plural, namespace, "MODIFIED", updated)
            return 200, copy.deepcopy(updated)

    def _patch(self, plural, namespace, name, sub, query, body):
        with self.changed:
            current = self.objects.get((plural, namespace, name))
            if current is None:
                return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
            updated = copy.deepcopy(current)
            if sub == "status":
                updated["status"] = _merge_patch(updated.get("status") or {}, body.get("status") or {})
            else:
                _merge_patch(updated, {k: v for k, v in body.items() if k != "status"})
            self.objects[(plural, namespace, name)] = self._commit(plural, namespace, "MODIFIED", updated)
            return 200, copy.deepcopy(updated)

    def _delete(self, plural, namespace, name, sub, query, body):
        with self.changed:
            if self.failing_deletes.get(plural, 0) > 0:
                self.failing_deletes[plural] -= 1
                return 500, _status(500, "InternalError", f'Internal error occurred: deleting {plural} "{name}"')
            obj = self.objects.pop((plural, namespace, name), None)
            if obj is None:
                return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
            self._commit(plural, namespace, "DELETED", obj)
            return 200, copy.deepcopy(obj)

    def _watch(self, handler: BaseHTTPRequestHandler, plural: str, namespace: str, query: dict) -> None:
        timeout = float(query.get("timeoutSeconds") or 30)
        deadline = time.monotonic() + timeout
        labels, fields = query.get("labelSelector"), query.get("fieldSelector")
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()

        def send(event: dict) -> None:
            data = (json.dumps(event) + "\n").encode()
            handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            handler.wfile.flush()

        try:
            with self.changed:
                since = query.get("resourceVersion")
                if since in (None, "", "0"):
                    pending = [
                        (self.version, "ADDED", copy.deepcopy(obj))
                        for (p, ns, _), obj in sorted(self.objects.items())
                        if p == plural and ns == namespace
                    ]
                    position = self.version
                elif int(since) < self.compacted:
                    pending, position = None, self.version
                else:
                    pending, position = [], int(since)
            if pending is None:
                self.expired_watches += 1
                send(
                    {"type": "ERROR", "object": _status(410, "Expired", f"too old resource version: {since} ({self.compacted})")}
                )
            else:
                for _, kind, obj in pending:
                    if _matches(obj, labels, fields):
                        send({"type": kind, "object": obj})
                while time.monotonic() < deadline and not getattr(self, "stopped", False):
                    with self.changed:
                        fresh = [e for e in self.events if e[0] > position]
                        if not fresh:
                            self.changed.wait(timeout=min(0.5, max(0.0, deadline - time.monotonic())))
                            continue
                        position = fresh[-1][0]
                    for _, p, ns, kind, obj in fresh:
                        if p == plural and ns == namespace and _matches(obj, labels, fields):
                            send({"type": kind, "object": obj})
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        handler.close_connection = True
