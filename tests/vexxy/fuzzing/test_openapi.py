"""Reading an image's OpenAPI document as routes on the workload alone: bounded, no aliases, no other host."""

import datetime
import json
import re
import time

import pytest
import yaml
from openapi_documents import indented_block_yaml, nested_block_yaml, nested_flow_yaml, nested_json, service_document

from vexxy.fuzzing import openapi
from vexxy.fuzzing.openapi import (
    MAX_DOCUMENT_BYTES,
    NotAnApiDocument,
    describe,
    example_value,
    load_document,
    nesting_depth,
    parse_yaml_apart,
)

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


PARSE_BUDGET = 10.0  # seconds, what discovery allows by default
NESTED_TOO_DEEP = re.escape("nests deeper than 100 levels; not used")


def routes_as_sent(document):
    return [(r.key, r.target(), r.payload()) for r in describe(document, BASE, BASE).routes]


@pytest.mark.parametrize(
    "raw",
    [nested_flow_yaml(300_000), nested_json(300_000), nested_block_yaml(300_000), indented_block_yaml(1_400)],
    ids=["yaml-flow", "json", "yaml-block-compact", "yaml-block-indented"],
)
def test_a_document_nested_hundreds_of_thousands_deep_is_given_up_within_the_budget(raw):
    """300 000 levels of YAML flow sequences took minutes to parse; refused now before any parse starts."""
    assert len(raw) <= MAX_DOCUMENT_BYTES
    started = time.monotonic()
    with pytest.raises(NotAnApiDocument, match=NESTED_TOO_DEEP):
        load_document(raw, time.monotonic() + PARSE_BUDGET)
    assert time.monotonic() - started < PARSE_BUDGET


DEEP = "[" * 5_000 + "]" * 5_000


@pytest.mark.parametrize(
    "text",
    [
        "openapi: 3.0.0\nx: it's\npaths: " + DEEP + "\nz: 'a'\n",  # an apostrophe inside a plain scalar
        'openapi: 3.0.0\nx: a:"\npaths: ' + DEEP + '\nz: "\n',  # a quote after a colon that is no indicator
        'openapi: 3.0.0\npaths: [!t "x, \']", ' + DEEP + ", '\"]\n",  # a tag before a quoted scalar
        "openapi: 3.0.0 # [[[[\npaths: " + DEEP + "\n",  # brackets in a comment
        'openapi: 3.0.0\nx: "a\n  \'b\n  c"\npaths: ' + DEEP + "\n",  # a quoted scalar over several lines
        "openapi: 3.0.0\nx: |\n  text\npaths: " + DEEP + "\n",  # after a block scalar's text
    ],
)
def test_the_nesting_scan_is_not_hidden_by_quotes_comments_tags_or_text(text):
    assert nesting_depth(text) > 100


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"x": ['"]]]]"[[[' * 200, "[{" * 200]}),  # brackets and escaped quotes in JSON strings
        "x: |\n  ''' [[[[\n" + "  [\n" * 200 + "y: 1\n",  # a block scalar's text
        "x: see [1 and [2\ny: '[[[[[['\nz: \"{{{{\"\n" * 50,  # brackets in plain and quoted scalars
    ],
)
def test_brackets_that_are_text_do_not_count_as_nesting(text):
    assert nesting_depth(text) <= 3


def test_the_yaml_parse_refuses_nesting_from_the_parsers_own_events():
    """What the scan would miss is refused by the parse itself, as soon as it reaches the 101st level."""
    for raw in (nested_flow_yaml(300_000), nested_block_yaml(300_000), nested_flow_yaml(101)):
        with pytest.raises(NotAnApiDocument, match=NESTED_TOO_DEEP):
            parse_yaml_apart(raw, time.monotonic() + PARSE_BUDGET)
    assert parse_yaml_apart(nested_flow_yaml(99), time.monotonic() + PARSE_BUDGET)["openapi"] == "3.0.0"
    with pytest.raises(NotAnApiDocument, match="anchors and aliases"):
        parse_yaml_apart(b"a: &x [1]\nb: *x\n", time.monotonic() + PARSE_BUDGET)


def test_a_yaml_parse_is_stopped_at_the_deadline_and_by_its_memory_limit(monkeypatch):
    with pytest.raises(NotAnApiDocument, match="stopped at the discovery deadline"):
        parse_yaml_apart(b"openapi: 3.0.0\npaths: {}\n", time.monotonic() + 0.001)
    with pytest.raises(NotAnApiDocument, match="time for discovery was spent"):
        parse_yaml_apart(b"openapi: 3.0.0\npaths: {}\n", time.monotonic() - 1)
    monkeypatch.setattr(openapi, "PARSE_MEMORY_BYTES", 48 << 20)
    with pytest.raises(NotAnApiDocument, match="more than 48 MiB|CPU or memory limit"):
        load_document(b"openapi: 3.0.0\npaths: {}\nx: [" + b"0," * 500_000 + b"0]\n", time.monotonic() + PARSE_BUDGET)


def test_yaml_values_come_back_from_the_parsing_process_as_yaml_made_them():
    document = load_document(
        b"openapi: 3.0.0\npaths: {}\nday: 2024-05-01\nat: 2024-05-01T10:00:00+02:00\nset: !!set {a}\nbin: !!binary aGk=\n"
    )
    assert document["day"] == datetime.date(2024, 5, 1)
    assert document["at"] == datetime.datetime(2024, 5, 1, 8, tzinfo=datetime.UTC)
    assert document["set"] == {"a"} and document["bin"] == b"hi"


def test_a_service_document_gives_the_same_routes_as_before_in_yaml_and_json():
    document = service_document()
    as_yaml = yaml.safe_dump(document, sort_keys=False).encode()
    as_json = json.dumps(document, indent=2).encode()
    assert 300_000 < len(as_yaml) <= MAX_DOCUMENT_BYTES and len(as_json) <= MAX_DOCUMENT_BYTES
    before = routes_as_sent(yaml.safe_load(as_yaml))  # how the document was read in-process until now
    assert len(before) == 200
    for raw in (as_yaml, as_json):
        loaded = load_document(raw, time.monotonic() + PARSE_BUDGET)
        assert loaded == document and routes_as_sent(loaded) == before
