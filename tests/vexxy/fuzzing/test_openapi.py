"""Reading an image's OpenAPI document as routes on the workload alone: bounded, no aliases, no other host."""

import json
import re

import pytest

from vexxy.fuzzing.openapi import MAX_DOCUMENT_BYTES, NotAnApiDocument, describe, example_value, load_document

BASE = "http://10.0.0.2:8080/"


def doc(**extra):
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}, **extra}


def test_json_and_yaml_documents_load():
    assert load_document(json.dumps(doc()).encode())["openapi"] == "3.0.3"
    assert load_document(b"swagger: '2.0'\npaths: {}\n")["swagger"] == "2.0"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"a: &x [1]\nb: *x\nopenapi: 3.0.0\npaths: {}\n", "anchors and aliases"),
        (b"[" * 100_000 + b"]" * 100_000, "nests deeper than 100 levels"),
        (b'{"openapi": "3.0.0"}', "no `paths`"),
        (b'{"hello": "world"}', "no `openapi` or `swagger`"),
        (b"- just\n- a list\n", "no `openapi` or `swagger`"),
        (b"openapi: [unclosed\n", "neither JSON nor YAML"),
        (b" " * (MAX_DOCUMENT_BYTES + 1), "larger than"),
    ],
)
def test_hostile_documents_are_refused_saying_why(raw, why):
    with pytest.raises(NotAnApiDocument, match=re.escape(why)):
        load_document(raw)


def test_servers_on_other_hosts_are_dropped_and_paths_stay_on_the_workload():
    document = doc(
        servers=[{"url": "https://api.example.com/v2"}, {"url": "http://10.0.0.2:9999/"}, {"url": "/api"}],
        paths={
            "/items": {"get": {}},
            "//evil.example/steal": {"get": {}},
            "/a/../../etc/passwd": {"get": {}},
            "http://evil.example/x": {"get": {}},
            "/ok\r\nHost: x": {"get": {}},
        },
    )
    description = describe(document, BASE + "openapi.json", BASE)
    assert [r.key for r in description.routes] == ["GET /api/items"]
    assert description.location == "/openapi.json"
    dropped = "\n".join(description.dropped)
    assert "server https://api.example.com/v2: another host" in dropped
    assert "server http://10.0.0.2:9999/: another host" in dropped
    for path in ("//evil.example/steal", "/a/../../etc/passwd", "http://evil.example/x"):
        assert f"path {path}: not a plain absolute path" in dropped


def test_only_foreign_servers_fall_back_to_the_workload_root():
    description = describe(doc(servers=[{"url": "https://prod.example.com"}], paths={"/x": {"post": {}}}), BASE, BASE)
    assert [r.key for r in description.routes] == ["POST /x"] and len(description.dropped) == 1


def test_swagger_2_host_elsewhere_is_dropped_and_base_path_kept():
    foreign = {"swagger": "2.0", "host": "api.example.com", "basePath": "/v1", "paths": {"/x": {"get": {}}}}
    assert [r.key for r in describe(foreign, BASE, BASE).routes] == ["GET /x"]
    local = {"swagger": "2.0", "basePath": "/v1", "paths": {"/x": {"get": {}}}}
    assert [r.key for r in describe(local, BASE, BASE).routes] == ["GET /v1/x"]


def test_bodies_parameters_and_queries_come_from_examples_then_schemas():
    document = doc(
        paths={
            "/orders/{order_id}": {
                "parameters": [{"name": "order_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "post": {
                    "parameters": [
                        {"name": "dry", "in": "query", "required": True, "schema": {"type": "boolean"}},
                        {"name": "page", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
                },
                "put": {"requestBody": {"content": {"application/json": {"examples": {"one": {"value": {"qty": 3}}}}}}},
                "patch": {"requestBody": {"content": {"application/x-www-form-urlencoded": {"example": {"note": "hi"}}}}},
            }
        },
        components={
            "schemas": {
                "Order": {
                    "type": "object",
                    "required": ["sku", "lines", "kind"],
                    "properties": {
                        "sku": {"type": "string", "example": "A-1"},
                        "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Line"}},
                        "kind": {"enum": ["retail", "bulk"]},
                        "ignored": {"type": "string"},
                    },
                },
                "Line": {"type": "object", "required": ["qty"], "properties": {"qty": {"type": "integer", "minimum": 2}}},
            }
        },
    )
    routes = {r.method: r for r in describe(document, BASE, BASE).routes}
    post = routes["POST"]
    assert post.body == {"sku": "A-1", "lines": [{"qty": 2}], "kind": "retail"}
    assert post.target() == "/orders/1?dry=True" and post.payload()[1] == "application/json"
    assert routes["PUT"].body == {"qty": 3}
    assert routes["PATCH"].form and routes["PATCH"].payload() == (b"note=hi", "application/x-www-form-urlencoded")


def test_recursive_and_foreign_refs_do_not_run_away():
    document = doc(
        components={
            "schemas": {
                "Node": {"type": "object", "required": ["next"], "properties": {"next": {"$ref": "#/components/schemas/Node"}}}
            }
        }
    )
    value = example_value({"$ref": "#/components/schemas/Node"}, document)
    depth = 0
    while isinstance(value, dict) and value.get("next") is not None:
        value, depth = value["next"], depth + 1
    assert depth <= 13
    assert example_value({"$ref": "https://evil.example/schema.json"}, document) is None


def test_operation_count_is_bounded():
    document = doc(paths={f"/p{i}": {"get": {}, "post": {}} for i in range(150)})
    description = describe(document, BASE, BASE)
    assert len(description.routes) == 200 and "more than 200 operations" in description.dropped[-1]


def test_yaml_values_that_are_not_json_still_make_a_body():
    document = load_document(
        b"openapi: 3.0.0\npaths:\n  /events:\n    post:\n      requestBody:\n        content:\n"
        b"          application/json:\n            example: {when: 2024-05-01, tags: [a]}\n"
    )
    (route,) = describe(document, BASE, BASE).routes
    assert route.payload() == (b'{"when": "2024-05-01", "tags": ["a"]}', "application/json")
