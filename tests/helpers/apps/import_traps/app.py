"""A web app with four import traps: packages it imports on paths an observation does not reach.

- idna is imported at module level and used on every GET: loaded.
- yaml (PyYAML) is imported only inside the POST handler, and no page links to a form that posts.
- redis is imported only when REPORT_CACHE is set, which the image never sets.
- requests is imported inside a function nothing calls.
- loguru is named only in settings.py's INSTALLED_APPS (read by no code that runs).
- urllib3 is installed (a dependency of requests) but imported by none of this code.
"""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import idna

if os.environ.get("REPORT_CACHE"):
    import redis

    CACHE = redis.Redis.from_url(os.environ["REPORT_CACHE"])


def fetch_exchange_rates():
    import requests

    return requests.get("https://rates.example/today", timeout=5).json()


class Handler(BaseHTTPRequestHandler):
    def reply(self, body):
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(idna.encode("bücher.example").decode() + "\n")

    def do_POST(self):
        import yaml

        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        self.reply(yaml.dump(yaml.safe_load(self.rfile.read(length))))

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
