"""A WSGI app served by werkzeug on a free port of 127.0.0.1, in a thread, for tests."""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server


class Served:
    """The app at ``base`` (``http://127.0.0.1:PORT``) until :meth:`stop`.

    ``url`` is its ``path`` (``/webhooks`` by default: most apps served here are
    Flask listeners).
    """

    def __init__(self, app: Any, path: str = "/webhooks") -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.base = f"http://127.0.0.1:{self.port}"
        self.path = path
        self.url = self.base + path
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """POST ``body`` to ``url``; return the status and the JSON answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("POST", self.path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def stop(self) -> None:
        """Stop serving and wait for the server's thread (at most 5 s)."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
