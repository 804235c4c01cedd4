"""An OpenAPI 3 / Swagger 2 document the workload serves, read as routes on the workload itself.

The document is the image's word, so it is read defensively: bounded size, JSON or YAML without
aliases (no expansion bombs), bounded nesting and route count. Nesting is refused beyond
MAX_NESTING by a cheap scan of the text before any parse (PyYAML's time grows with nesting), and
YAML is parsed in a child process under CPU and memory limits, killed at the caller's deadline. Every server it names is resolved
against the workload's own base URL; a server on another host is dropped and reported (its paths
are then served from the workload's root, the OpenAPI default), and so is any path that is not a
plain absolute path. Request bodies come from the document's examples, else from a minimal value
that satisfies the schema's required properties.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from vexxy.fuzzing.routes import METHODS, Route, safe_path

MAX_DOCUMENT_BYTES = 1 << 20
MAX_ROUTES = 200
MAX_DEPTH = 12  # schema nesting followed when building a body
MAX_NODES = 200  # schema nodes visited per body
MAX_NESTING = 100  # collections inside collections, JSON or YAML, flow or block
PARSE_SECONDS = 10.0  # when the caller gives no deadline
PARSE_MEMORY_BYTES = 1 << 30  # address space of the YAML parsing process


class NotAnApiDocument(ValueError):
    """The bytes are not an OpenAPI/Swagger document we accept; the message says why."""


def load_document(raw: bytes, deadline: float | None = None) -> dict[str, Any]:
    """JSON, else YAML (safe, without anchors/aliases, parsed apart until `deadline`), bounded; an object with
    `openapi` or `swagger`."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise NotAnApiDocument(f"larger than {MAX_DOCUMENT_BYTES} bytes")
    text = raw.decode("utf-8", "replace")
    if nesting_depth(text) > MAX_NESTING:
        raise NotAnApiDocument(f"nests deeper than {MAX_NESTING} levels; not used")
    try:
        document = json.loads(text)
    except RecursionError as error:
        raise NotAnApiDocument(f"nests deeper than {MAX_NESTING} levels; not used") from error
    except ValueError:
        document = parse_yaml_apart(raw, deadline if deadline is not None else time.monotonic() + PARSE_SECONDS)
    else:
        if _deeper_than(document, MAX_NESTING):
            raise NotAnApiDocument(f"nests deeper than {MAX_NESTING} levels; not used")
    if not isinstance(document, dict) or not ("openapi" in document or "swagger" in document):
        raise NotAnApiDocument("no `openapi` or `swagger` field")
    if not isinstance(document.get("paths"), dict):
        raise NotAnApiDocument("no `paths` object")
    return document


_DOUBLE_QUOTED_REST = re.compile(r'(?:[^"\\]|\\.)*"')
_SINGLE_QUOTED_REST = re.compile(r"(?:[^']|'')*'(?!')")
_FLOW_PLAIN = re.compile(r"(?:[^\s,?\[\]{}:]|:(?=[^\s,\[\]{}]))*")  # where PyYAML ends a plain scalar in flow context
_BLOCK_PLAIN = re.compile(r"(?:[^\s:]|:(?=\S))*")  # and in block context (a comment starts after a space)


def _after_quote(line: str, start: int, quote: str) -> int:
    """Where the quoted scalar open at `start` ends on this line, or -1 if it goes on."""
    found = (_DOUBLE_QUOTED_REST if quote == '"' else _SINGLE_QUOTED_REST).match(line, start)
    return found.end() if found else -1


def nesting_depth(text: str, limit: int = MAX_NESTING) -> int:
    """How deep the text nests collections, read in one linear pass and given up once past `limit`.

    Flow collections (`[`, `{`) count outside quoted scalars and comments, on top of block ones (one
    per deeper indentation, one per compact `- ` or `? `). A quote opens a scalar only where a node
    starts and block scalars' text is skipped, as a parser would, but this reading is rougher than a
    parser's: it refuses the documents nested past any sane depth before a slow parse starts, and the
    YAML parse checks nesting again, exactly, from the parser's own events.
    """
    deepest = flow = 0
    indents: list[int] = []
    quote = ""  # the quote a scalar begun on an earlier line still waits for
    text_indent = -1  # a block scalar's text is the lines indented deeper than this
    for line in text.split("\n"):
        line = line.rstrip("\r")
        content = line.lstrip(" ")
        indent = len(line) - len(content)
        if quote:
            position = _after_quote(line, 0, quote)
            if position < 0:
                continue
            quote, at_node = "", False
        else:
            if text_indent >= 0:
                if not content.strip() or indent > text_indent:
                    continue
                text_indent = -1
            if not content or content.startswith("#"):
                continue
            position, at_node = indent, True
            if not flow:
                while indents and indents[-1] > indent:
                    indents.pop()
                if not indents or indents[-1] < indent:
                    indents.append(indent)
        block = len(indents)
        deepest = max(deepest, block + flow)
        while position < len(line):
            char = line[position]
            following = line[position + 1 : position + 2]
            if char in " \t":
                position += 1
                continue
            if char == "#" and (position == 0 or line[position - 1] in " \t"):
                break
            if char in "[{" and (flow or at_node):  # in block context, only where a node starts
                flow += 1
                deepest = max(deepest, block + flow)
                at_node = True
            elif char in "]}":
                flow, at_node = max(0, flow - 1), False
            elif flow and char in ",?:":
                at_node = True
            elif char == ":" and following in ("", " ", "\t"):
                at_node = True
            elif at_node and char in "-?" and following in ("", " ", "\t"):
                block += 1  # a compact nested collection: `- - x`, `? - x`
                deepest = max(deepest, block + flow)
            elif at_node and char in "\"'":
                position = _after_quote(line, position + 1, char)
                if position < 0:
                    quote = char
                    break
                at_node = False
                continue
            elif at_node and char in "!&*":  # a tag, anchor or alias: the node itself follows
                while position < len(line) and line[position] not in " \t":
                    position += 1
                continue
            elif at_node and char in "|>" and not flow:
                text_indent = indent
                break
            else:
                position = (_FLOW_PLAIN if flow else _BLOCK_PLAIN).match(line, position + 1).end()
                at_node = False
                continue
            if deepest > limit:
                return deepest
            position += 1
    return deepest


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether a parsed value nests collections more than `limit` deep (without recursing)."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class _PlainValues(pickle.Unpickler):
    """Reads back what the parsing process wrote: plain values and the dates YAML makes, no other class."""

    ALLOWED = {("datetime", name) for name in ("date", "datetime", "timedelta", "timezone")} | {
        ("builtins", "set"),
        ("builtins", "frozenset"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not a plain value")
        return super().find_class(module, name)


def parse_yaml_apart(raw: bytes, deadline: float) -> Any:
    """The YAML document's value, parsed in a child process limited in CPU and memory and killed at `deadline`."""
    started = time.monotonic()
    remaining = deadline - started
    if remaining <= 0:
        raise NotAnApiDocument("not parsed: the time for discovery was spent")
    command = [
        sys.executable,
        "-m",
        "vexxy.fuzzing.yaml_parse",
        str(math.ceil(remaining)),
        str(PARSE_MEMORY_BYTES),
        str(MAX_NESTING),
    ]
    try:
        done = subprocess.run(command, input=raw, capture_output=True, timeout=remaining, cwd="/")
    except subprocess.TimeoutExpired as error:
        seconds = time.monotonic() - started
        raise NotAnApiDocument(f"its parse was stopped at the discovery deadline, after {seconds:.1f} s; not used") from error
    except OSError as error:
        raise NotAnApiDocument(f"not parsed: the parsing process did not start ({error.__class__.__name__})") from error
    if done.returncode != 0:
        ending = f"signal {-done.returncode}" if done.returncode < 0 else f"status {done.returncode}"
        raise NotAnApiDocument(f"its parsing process ended with {ending} (CPU or memory limit); not used")
    try:
        kind, value = _PlainValues(io.BytesIO(done.stdout)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise NotAnApiDocument(f"its parsing process wrote no readable result ({error.__class__.__name__})") from error
    if kind != "document":
        raise NotAnApiDocument(str(value))
    return value


@dataclass
class ApiDescription:
    """The document's routes on the workload, and what was dropped and why."""

    location: str  # the path the document was served at (or configured)
    routes: list[Route] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    base_paths: list[str] = field(default_factory=lambda: ["/"])


def _same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.hostname, a.port or 80) == (b.scheme, b.hostname, b.port or 80)


def _server_urls(document: dict[str, Any]) -> list[str]:
    if "swagger" in document:
        host, base = document.get("host"), document.get("basePath") or "/"
        schemes = document.get("schemes") or ["http"]
        if host:
            return [f"{scheme}://{host}{base}" for scheme in schemes if isinstance(scheme, str)][:5]
        return [str(base)]
    urls = []
    for server in (document.get("servers") or [])[:10]:
        if isinstance(server, dict) and isinstance(server.get("url"), str):
            url = server["url"]
            for name, variable in (server.get("variables") or {}).items():
                if isinstance(variable, dict):
                    url = url.replace("{" + str(name) + "}", str(variable.get("default", "")))
            urls.append(url)
    return urls or ["/"]


def _base_paths(document: dict[str, Any], document_url: str, base_url: str) -> tuple[list[str], list[str]]:
    """Base paths of the servers that are the workload itself, and the servers dropped."""
    kept, dropped = [], []
    for server in _server_urls(document):
        resolved = urljoin(document_url, server)
        path = urlsplit(resolved).path or "/"
        if not _same_origin(resolved, base_url):
            dropped.append(f"server {server[:200]}: another host than the workload")
        elif not safe_path(path):
            dropped.append(f"server {server[:200]}: not a plain path")
        elif path not in kept:
            kept.append(path)
    return kept or ["/"], dropped


def _resolve(node: Any, document: dict[str, Any], budget: list[int]) -> Any:
    """Follow local `$ref`s (`#/...`) only; anything else resolves to nothing."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < MAX_DEPTH:
        seen += 1
        budget[0] -= 1
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return {}
        target: Any = document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        node = target if target is not None else {}
    return node


def example_value(schema: Any, document: dict[str, Any], depth: int = 0, budget: list[int] | None = None) -> Any:
    """The schema's example or default, else a minimal valid value (required properties only)."""
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    schema = _resolve(schema, document, budget)
    if not isinstance(schema, dict) or depth > MAX_DEPTH or budget[0] <= 0:
        return None
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for combinator in ("allOf", "oneOf", "anyOf"):
        if isinstance(schema.get(combinator), list) and schema[combinator]:
            if combinator == "allOf":
                merged: dict[str, Any] = {}
                for part in schema["allOf"][:10]:
                    value = example_value(part, document, depth + 1, budget)
                    if isinstance(value, dict):
                        merged.update(value)
                return merged
            return example_value(schema[combinator][0], document, depth + 1, budget)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [name for name in (schema.get("required") or []) if isinstance(name, str)]
        return {name: example_value(properties.get(name, {}), document, depth + 1, budget) for name in required[:50]}
    if kind == "array":
        item = example_value(schema.get("items", {}), document, depth + 1, budget)
        return [item] if item is not None else []
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1))) if isinstance(schema.get("minimum", 1), (int, float)) else 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "string":
        return {"date": "2024-01-01", "date-time": "2024-01-01T00:00:00Z", "email": "user@example.org"}.get(
            schema.get("format"), "vexxy"
        )
    return None


def _media_example(media: Any, document: dict[str, Any]) -> Any:
    media = _resolve(media, document, [MAX_NODES])
    if not isinstance(media, dict):
        return None
    if "example" in media:
        return media["example"]
    examples = media.get("examples")
    if isinstance(examples, dict):
        for example in list(examples.values())[:1]:
            example = _resolve(example, document, [MAX_NODES])
            if isinstance(example, dict) and "value" in example:
                return example["value"]
    return example_value(media.get("schema", {}), document)


def _operation_route(method: str, path: str, operation: dict, common: list, document: dict[str, Any], where: str) -> Route:
    parameters: dict[str, str] = {}
    query: dict[str, str] = {}
    body: Any = None
    form: dict[str, Any] = {}
    for parameter in [*common, *(operation.get("parameters") or [])][:50]:
        parameter = _resolve(parameter, document, [MAX_NODES])
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            continue
        name, location = parameter["name"], parameter.get("in")
        schema = parameter.get("schema", parameter)  # Swagger 2 puts `type` on the parameter itself
        value = parameter.get("example", example_value(schema, document))
        if location == "path":
            parameters[name] = str(value if value is not None else 1)
        elif location == "query" and parameter.get("required"):
            query[name] = str(value if value is not None else 1)
        elif location == "body":
            body = value
        elif location == "formData":
            form[name] = value if value is not None else "vexxy"
    request = _resolve(operation.get("requestBody"), document, [MAX_NODES])
    is_form = bool(form)
    if isinstance(request, dict) and isinstance(request.get("content"), dict):
        content = request["content"]
        json_type = next((t for t in content if "json" in str(t)), None)
        form_type = next((t for t in content if str(t) in ("application/x-www-form-urlencoded", "multipart/form-data")), None)
        if json_type:
            body = _media_example(content[json_type], document)
        elif form_type:
            body, is_form = _media_example(content[form_type], document), True
    return Route(
        method.upper(),
        path,
        "openapi",
        where,
        parameters=parameters,
        query=query,
        body=form if form else body,
        form=is_form,
    )


def describe(document: dict[str, Any], document_url: str, base_url: str) -> ApiDescription:
    """The document's operations as routes on the workload at `base_url` (`document_url` is where it was served)."""
    base_paths, dropped = _base_paths(document, document_url, base_url)
    description = ApiDescription(location=urlsplit(document_url).path or "/", dropped=dropped, base_paths=base_paths)
    prefix = base_paths[0].rstrip("/")
    for raw_path, item in document["paths"].items():
        if not isinstance(item, dict):
            continue
        path = prefix + raw_path if isinstance(raw_path, str) else ""
        if not safe_path(str(raw_path)) or not safe_path(path):
            description.dropped.append(f"path {str(raw_path)[:200]}: not a plain absolute path on the workload")
            continue
        item = _resolve(item, document, [MAX_NODES])
        common = item.get("parameters") if isinstance(item.get("parameters"), list) else []
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            if len(description.routes) >= MAX_ROUTES:
                description.dropped.append(f"more than {MAX_ROUTES} operations: the rest were not read")
                return description
            description.routes.append(_operation_route(method, path, operation, common, document, description.location))
    return description
