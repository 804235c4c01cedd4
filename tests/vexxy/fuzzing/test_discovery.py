"""Finding a workload's OpenAPI document and calling every declared route, against a real HTTP server."""

import json
import time

import pytest
from loopback_http import LoopbackServer, QuietHandler
from openapi_documents import nested_flow_yaml, nested_json

from vexxy.declared_route import DeclaredRoute
from vexxy.fuzzing.discovery import discover
from vexxy.fuzzing.drive import exercise_declared
from vexxy.fuzzing.exercise import exercise
from vexxy.fuzzing.routes import Route
from vexxy.fuzzing.seeding import routes_document, routes_in_code, seed_routes

DOCUMENT = {
    "openapi": "3.0.3",
    "servers": [{"url": "http://203.0.113.5/"}],
    "paths": {
        "/api/import": {"post": {"requestBody": {"content": {"application/json": {"example": {"yaml": "a: 1"}}}}}},
        "/api/items/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "example": 7}]}},
        "/api/gone": {"delete": {}},
    },
}


class App:
    """Serves `documents` (path -> (status, body, headers)) and records every request it answers."""

    def __init__(self, documents):
        self.requests = []
        app = self

        class Handler(QuietHandler):
            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                app.requests.append((self.command, self.path, self.headers.get("Content-Type"), body))
                if self.command == "POST" and self.path == "/api/import":
                    status, data, headers = (200 if json.loads(body) == {"yaml": "a: 1"} else 400), b"{}", {}
                elif self.command == "GET" and self.path.startswith("/api/items/"):
                    status, data, headers = 200, b"{}", {}
                else:
                    status, data, headers = documents.get(self.path, (404, b"", {}))
                self.send_response(status)
                for name, value in {"Content-Length": str(len(data)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = handle_any

        self.server = LoopbackServer()
        self.server.serve(Handler)
        self.url = self.server.url + "/"

    def close(self):
        self.server.close()


@pytest.fixture
def app():
    servers = []

    def start(documents):
        servers.append(App(documents))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_a_conventional_path_is_found_and_its_routes_are_called_with_their_methods_and_bodies(app):
    api = app({"/v3/api-docs": (200, json.dumps(DOCUMENT).encode(), {})})
    code = [Route("POST", "/api/import", "code", "/app/app.py:12")]
    coverage, seeds = exercise_declared(api.url, code, ["/admin?tab=1", "http://203.0.113.5/x"], None, budget_seconds=10)
    assert coverage.document == "/v3/api-docs"
    assert coverage.probes[:3] == ["/openapi.json: HTTP 404", "/swagger.json: HTTP 404", "/v3/api-docs: 3 operations"]
    assert coverage.declared == {
        "openapi": ["POST /api/import", "GET /api/items/{id}", "DELETE /api/gone"],
        "code": ["POST /api/import"],
        "seed": ["GET /admin"],
    }
    assert [r for r in api.requests if r[0] == "POST"] == [("POST", "/api/import", "application/json", b'{"yaml": "a: 1"}')]
    assert ("POST", "/api/import", "application/json", b'{"yaml": "a: 1"}') in api.requests
    assert ("GET", "/api/items/7", None, b"") in api.requests
    assert all(path.startswith("/") for _, path, _, _ in api.requests)
    assert coverage.exercised == ["POST /api/import", "GET /api/items/{id}"]
    assert coverage.not_reached == ["DELETE /api/gone (HTTP 404)", "GET /admin (HTTP 404)"]
    assert "server http://203.0.113.5/: another host than the workload" in coverage.dropped
    assert "seed http://203.0.113.5/x: another host than the workload" in coverage.dropped
    summary = coverage.to_dict()
    assert summary["declared"] == {"code": 1, "openapi": 3, "seed": 1} and summary["declared_total"] == 4
    assert summary["exercised"] == 2 and summary["routes"][0]["sources"] == ["code", "openapi"]
    assert seeds.description.location == "/v3/api-docs" and len(seeds.routes) == 4


def test_the_configured_path_alone_is_read_and_must_be_a_path(app):
    api = app({"/internal/spec.yaml": (200, b"openapi: 3.0.0\npaths:\n  /ping:\n    get: {}\n", {})})
    found = discover(api.url, "/internal/spec.yaml")
    assert [r.key for r in found.description.routes] == ["GET /ping"] and found.probes == ["/internal/spec.yaml: 1 operations"]
    refused = discover(api.url, "http://203.0.113.5/spec.json")
    assert refused.description is None and "refused, not a plain absolute path" in refused.probes[0]
    assert [p for _, p, _, _ in api.requests] == ["/internal/spec.yaml"]


def test_redirects_are_not_followed_and_oversized_or_broken_documents_are_reported(app):
    api = app(
        {
            "/openapi.json": (302, b"", {"Location": "http://203.0.113.5/openapi.json"}),
            "/swagger.json": (200, b"x" * 64, {}),
            "/v3/api-docs": (200, b'{"openapi": "3.0.0"}', {}),
        }
    )
    found = discover(api.url, max_bytes=32)
    assert found.description is None
    assert found.probes[:3] == [
        "/openapi.json: HTTP 302",
        "/swagger.json: larger than 32 bytes",
        "/v3/api-docs: no `paths` object",
    ]


def test_routes_the_workload_does_not_answer_are_not_reached_with_why():
    results = exercise("http://127.0.0.1:9/", [Route("GET", "/x", "code")], timeout=1)
    assert not results[0].exercised and results[0].outcome == "ConnectError"


def test_code_and_seed_routes_are_kept_on_plain_paths_only():
    routes, dropped = routes_in_code([DeclaredRoute("POST", "/upload", "app.py:3"), DeclaredRoute("GET", "//evil/x", "app.py:9")])
    assert [r.key for r in routes] == ["POST /upload"] and dropped == ["GET //evil/x at app.py:9: not a plain absolute path"]
    seeded, refused = seed_routes(["/a/../../b", "ftp://10.0.0.2:8080/x"], "http://10.0.0.2:8080/")
    assert seeded == [] and len(refused) == 2


def test_scanners_get_one_document_served_by_the_base_url_they_reach():
    routes = [
        Route("POST", "/api/import", "openapi", body={"yaml": "a: 1", "n": [1]}),
        Route("GET", "/items/{id}", "code", parameters={"id": "7"}),
        Route("POST", "/api/import", "code"),
    ]
    document = routes_document(routes, "http://10.9.0.2:8080/")
    assert document["servers"] == [{"url": "http://10.9.0.2:8080"}]
    post = document["paths"]["/api/import"]["post"]["requestBody"]["content"]["application/json"]
    assert post["example"] == {"yaml": "a: 1", "n": [1]}
    assert post["schema"]["properties"]["yaml"] == {"type": "string", "default": "a: 1"}
    assert document["paths"]["/items/{id}"]["get"]["parameters"][0]["schema"]["default"] == "7"


def test_a_document_dripped_slowly_is_cut_off_by_the_discovery_budget():
    class Drip(QuietHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.05)

    server = LoopbackServer()
    server.serve(Drip)
    try:
        found = discover(server.url + "/", "/openapi.json", timeout=2, budget_seconds=1)
    finally:
        server.close()
    assert found.description is None
    assert found.probes == ["/openapi.json: still sending when the discovery budget was spent"]


MALFORMED = {  # each field of the wrong JSON type, or a number no schema value can be made of
    "/servers.json": {"openapi": "3.0.0", "servers": {"url": "/"}, "paths": {"/a": {"get": {}}}},
    "/variables.json": {"openapi": "3.0.0", "servers": [{"url": "/{v}", "variables": ["x"]}], "paths": {}},
    "/schemes.json": {"swagger": "2.0", "host": "h", "schemes": 5, "paths": {}},
    "/parameters.json": {"openapi": "3.0.0", "paths": {"/a": {"get": {"parameters": 5}}}},
    "/format.json": {
        "openapi": "3.0.0",
        "paths": {
            "/a": {"post": {"requestBody": {"content": {"application/json": {"schema": {"format": [1], "type": "string"}}}}}}
        },
    },
    "/infinity.json": {
        "openapi": "3.0.0",
        "paths": {
            "/a": {"post": {"requestBody": {"content": {"application/json": {"schema": {"type": "integer", "minimum": 1e999}}}}}}
        },
    },
}


def test_a_malformed_document_is_reported_and_the_declared_routes_are_still_exercised(app):
    """A document of the wrong shape must not stop discovery (and with it every scan of the workload)."""
    api = app({path: (200, json.dumps(document).encode(), {}) for path, document in MALFORMED.items()})
    for path in MALFORMED:
        found = discover(api.url, path)
        assert found.description is None and found.probes[0].startswith(f"{path}: not a usable OpenAPI document ("), path
    coverage, _ = exercise_declared(api.url, [Route("GET", "/api/items/1", "code")], [], "/format.json", budget_seconds=5)
    assert coverage.exercised == ["GET /api/items/1"]


def test_a_document_nested_300_000_deep_is_given_up_within_the_budget_and_the_declared_routes_still_run(app):
    """Served over HTTP as JSON and as YAML flow sequences, each under 1 MiB; PyYAML alone took minutes on it."""
    api = app({"/openapi.json": (200, nested_json(300_000), {}), "/openapi.yaml": (200, nested_flow_yaml(300_000), {})})
    budget = 10.0
    started = time.monotonic()
    found = discover(api.url, budget_seconds=budget)
    assert time.monotonic() - started < budget
    assert found.description is None
    assert "/openapi.json: nests deeper than 100 levels; not used" in found.probes
    assert "/openapi.yaml: nests deeper than 100 levels; not used" in found.probes
    code = [Route("GET", "/api/items/1", "code")]
    coverage, seeds = exercise_declared(api.url, code, [], "/openapi.yaml", budget_seconds=budget)
    assert coverage.probes == ["/openapi.yaml: nests deeper than 100 levels; not used"] and coverage.document == ""
    assert coverage.exercised == ["GET /api/items/1"] and seeds.description is None
