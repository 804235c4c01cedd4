"""A deliberately vulnerable web app for scanner tests: reflected XSS and SQL injection on SQLite.

The vulnerable handlers import what they use lazily, so the code (and the packages) they load
only runs when something drives them, which is what fuzzing coverage measures.
"""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

INDEX = """<!doctype html><title>shop</title>
<h1>Shop</h1>
<form action="/search" method="get"><input name="q" value="shoes"><input type="submit"></form>
<a href="/item?id=1">first item</a> <a href="/item?id=2">second item</a>
<a href="http://203.0.113.7/elsewhere">a link to another host</a>
"""


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/":
            return self.reply(200, INDEX)
        if url.path == "/search":
            term = query.get("q", [""])[0]
            return self.reply(200, f"<p>Results for {term}</p>")  # reflected, unescaped: XSS
        if url.path == "/item":
            import sqlite3  # loaded only when an item is requested

            db = sqlite3.connect(":memory:")
            db.execute("CREATE TABLE items (id INTEGER, name TEXT)")
            db.executemany("INSERT INTO items VALUES (?, ?)", [(1, "shoes"), (2, "hat")])
            item = query.get("id", ["1"])[0]
            try:
                rows = db.execute(f"SELECT name FROM items WHERE id = {item}").fetchall()  # SQL injection
            except sqlite3.Error as exc:
                return self.reply(500, f"<pre>sqlite3.OperationalError: {exc}</pre>")
            return self.reply(200, "<ul>" + "".join(f"<li>{name}</li>" for (name,) in rows) + "</ul>")
        return self.reply(404, "not found")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
