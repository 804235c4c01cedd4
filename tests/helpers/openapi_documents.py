"""OpenAPI documents workloads serve: one shaped like a real service's, and ones nested to exhaust a parser."""

from __future__ import annotations

from typing import Any


def service_document(resources: int = 160) -> dict[str, Any]:
    """A service's document: listing, create, read, update and delete per resource, shared schemas, markdown
    descriptions, patterns and examples with brackets, quotes and `#` in them (about 440 KB as YAML)."""
    schemas: dict[str, Any] = {
        "Owner": {"type": "object", "required": ["email"], "properties": {"email": {"type": "string", "format": "email"}}}
    }
    paths: dict[str, Any] = {}
    for i in range(resources):
        name = f"Resource{i}"
        leaf = {"type": "object", "properties": {"value": {"type": "string", "enum": ["a'b", 'c"d', "[x", "{y"]}}}
        schemas[name] = {
            "type": "object",
            "description": f"A {name}.\n\nSee [the guide](https://example.org/guide#{i}) and `GET /r{i}` [deprecated].",
            "required": ["id", "name", "owner"],
            "properties": {
                "id": {"type": "integer", "format": "int64", "minimum": 1},
                "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,62}$", "example": f"item-{i}"},
                "owner": {"$ref": "#/components/schemas/Owner"},
                "tags": {"type": "array", "items": {"type": "string", "pattern": "^[^\\]\\[]+$"}},
                "created": {"type": "string", "format": "date-time"},
                "settings": {"type": "object", "properties": {"level": {"type": "array", "items": leaf}}},
            },
        }
        base = f"/api/v2/resources{i}"
        paths[base] = {
            "get": {
                "summary": f"List {name}s",
                "parameters": [
                    {"name": "page", "in": "query", "schema": {"type": "integer", "default": 1}},
                    {
                        "name": "filter",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "example": "name eq 'x' # all"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {"schema": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}}
                        },
                    }
                },
            },
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
                },
                "responses": {"201": {"description": "created"}, "422": {"description": "invalid: [field] {reason}"}},
            },
        }
        paths[base + "/{id}"] = {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "get": {"responses": {"200": {"description": "ok"}}},
            "put": {"requestBody": {"content": {"application/json": {"example": {"name": f"renamed-{i}", "tags": ["a", "b"]}}}}},
            "delete": {"responses": {"204": {"description": "gone"}}},
        }
    description = (
        '# Inventory\n\nSend `Authorization: Bearer <token>`.\n\n    {\n      "nested": [\n        [1, 2]\n      ]\n    }\n'
    )
    return {
        "openapi": "3.0.3",
        "info": {"title": "Inventory", "version": "2.4.1", "description": description},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas},
    }


def nested_flow_yaml(depth: int) -> bytes:
    """YAML flow sequences inside one another: `paths: [[[...]]]`, not JSON, so only a YAML parser reads it."""
    return b"openapi: 3.0.0\npaths: " + b"[" * depth + b"]" * depth + b"\n"


def nested_json(depth: int) -> bytes:
    return b'{"openapi": "3.0.0", "paths": {}, "x": ' + b"[" * depth + b"]" * depth + b"}"


def nested_block_yaml(depth: int) -> bytes:
    """Block sequences inside one another, compact (`- - - x`) so a megabyte holds hundreds of thousands."""
    return b"openapi: 3.0.0\npaths:\n" + b"- " * depth + b"x\n"


def indented_block_yaml(depth: int) -> bytes:
    """Block mappings inside one another, one more space of indentation each."""
    return b"openapi: 3.0.0\npaths:\n" + b"".join(b" " * level + b"a:\n" for level in range(1, depth)) + b" " * depth + b"a: 1\n"
