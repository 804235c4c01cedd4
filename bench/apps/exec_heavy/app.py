"""A web app that runs a program on every request (a subprocess per request), as CGI-style apps do."""

import os
import subprocess
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        stamp = subprocess.run(["/bin/date", "-u", "+%s"], capture_output=True, check=True).stdout
        body = b"<!doctype html><title>exec-heavy</title><p>" + stamp.strip() + b"</p>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
