"""A JSON API whose only way in is its OpenAPI document: no page links to the import endpoint.

`POST /api/v1/documents` parses YAML with PyYAML, imported only when that handler runs, so the
package is loaded only if something reads the document and calls the endpoint with a body.
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


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body, content_type="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/":
            return self.reply(200, "<!doctype html><title>documents</title><p>A document service.</p>", "text/html")
        if self.path == "/openapi.json":
            return self.reply(200, json.dumps(OPENAPI))
        if self.path == "/api/v1/health":
            return self.reply(200, '{"ok": true}')
        return self.reply(404, '{"error": "not found"}')

    def do_POST(self):
        if self.path != "/api/v1/documents":
            return self.reply(404, '{"error": "not found"}')
        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        try:
            text = json.loads(self.rfile.read(length) or b"{}").get("yaml", "")
        except (ValueError, AttributeError):
            return self.reply(400, '{"error": "a JSON object with a yaml field"}')
        import yaml  # loaded only when a document is posted

        try:
            parsed = yaml.safe_load(str(text))
        except yaml.YAMLError as exc:
            return self.reply(422, json.dumps({"error": str(exc)[:200]}))
        return self.reply(200, json.dumps({"parsed": parsed}, default=str))

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
