"""A web app that opens files on every request: a page template, its partials and two static files.

Jinja2 reloads templates from disk each time (no template cache), like an app in development mode
or one that renders user-chosen templates, so every request is several opens the tracer sees.
"""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jinja2

HERE = Path(__file__).resolve().parent
ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), cache_size=0, auto_reload=True)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        styles = (HERE / "static" / "site.css").read_bytes()
        script = (HERE / "static" / "site.js").read_bytes()
        body = ENV.get_template("page.html").render(css=len(styles), js=len(script)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
