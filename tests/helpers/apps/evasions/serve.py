"""The HTTP server each evasion app ends with: GET answers from the app, POST calls its handler.

No page links to a form that posts, so an observation (without fuzzing) never reaches `post`.
"""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(get=lambda: "ok", post=None):
    class Handler(BaseHTTPRequestHandler):
        def reply(self, body):
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.reply(get() + "\n")

        def do_POST(self):
            length = min(int(self.headers.get("Content-Length") or 0), 65536)
            body = self.rfile.read(length)
            self.reply(post(body) if post else "")

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
