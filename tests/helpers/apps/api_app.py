"""A JSON API whose endpoints no page links to: two are in its OpenAPI document, one only in its code.

Handlers register on a small router with Flask-style decorators, and import what they use when they
run: PyYAML only when a document is posted (`POST /api/v1/documents`, documented), Jinja2 only when
a report is rendered (`POST /api/v1/reports`, declared in the code alone).
"""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "documents", "version": "1"},
    "servers": [{"url": "https://api.example.com/"}, {"url": "/"}],
    "paths": {
        "/api/v1/documents": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"example": {"yaml": "name: vexxy\nitems: [1, 2]\n"}}},
                },
                "responses": {"200": {"description": "the parsed document"}},
            }
        },
        "/api/v1/health": {"get": {"responses": {"200": {"description": "ok"}}}},
    },
}


class Router:
    def __init__(self):
        self.handlers = {}

    def route(self, path, methods=("GET",)):
        def register(handler):
            for method in methods:
                self.handlers[(method, path)] = handler
            return handler

        return register

    def get(self, path):
        return self.route(path, methods=("GET",))

    def post(self, path):
        return self.route(path, methods=("POST",))


app = Router()


@app.get("/")
def index(body):
    return 200, "<!doctype html><title>documents</title><p>A document service.</p>", "text/html"


@app.get("/openapi.json")
def openapi(body):
    return 200, json.dumps(OPENAPI), "application/json"


@app.get("/api/v1/health")
def health(body):
    return 200, '{"ok": true}', "application/json"


@app.post("/api/v1/documents")
def documents(body):
    import yaml  # loaded only when a document is posted

    try:
        parsed = yaml.safe_load(str(body.get("yaml", "")))
    except yaml.YAMLError as exc:
        return 422, json.dumps({"error": str(exc)[:200]}), "application/json"
    return 200, json.dumps({"parsed": parsed}, default=str), "application/json"


@app.post("/api/v1/reports")
def reports(body):
    import jinja2  # loaded only when a report is rendered

    page = jinja2.Template("<h1>{{ title }}</h1>").render(title=body.get("title", "report"))
    return 200, json.dumps({"html": page}), "application/json"


class Handler(BaseHTTPRequestHandler):
    def dispatch(self):
        handler = app.handlers.get((self.command, self.path))
        if handler is None:
            return self.reply(404, '{"error": "not found"}', "application/json")
        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        try:
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        except ValueError:
            return self.reply(400, '{"error": "a JSON object"}', "application/json")
        return self.reply(*handler(body if isinstance(body, dict) else {}))

    do_GET = do_POST = dispatch

    def reply(self, status, text, content_type):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
