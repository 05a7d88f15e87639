"""The example web front end the shipped stacks build in their first `up`: /healthz for the load balancer, the app.

Built by the stack that runs it (``image.build``) rather than pinned by digest: a digest in a repository the
same stack creates cannot exist before that stack's first ``up`` (issue 21), so dev and staging could never
be created. Later stages promote the digest staging ran.
"""

from __future__ import annotations

import json
import mimetypes
import os
import pathlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "3000"))
STATIC = pathlib.Path(__file__).resolve().parent / "static"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._reply(200, b'{"status": "ok"}', "application/json")
            return
        file = (STATIC / path.lstrip("/")).resolve()
        if path == "/" or not file.is_file() or STATIC not in file.parents:
            file = STATIC / "index.html"  # a single-page app: every route is the app's own
        self._reply(200, file.read_bytes(), mimetypes.guess_type(file.name)[0] or "application/octet-stream")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args: object) -> None:
        print(json.dumps({"client": self.client_address[0], "request": fmt % args}), flush=True)


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
