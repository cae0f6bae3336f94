"""gunicorn settings for this listener: ``gunicorn -c gunicorn.conf.py 'app:create_app()'``.

Threaded workers: a client that sends its request slowly holds one thread, not a whole
worker, so deliveries are still answered at once (the sender waits at most 5 seconds)
while a few clients trickle their bodies. A body still incomplete ``BODY_SECONDS`` after
its headers is cut off (answered 400), so a slow client holds its thread for a bounded
time. Where the URL is open to the internet, a buffering reverse proxy (nginx) in front
absorbs slow clients altogether.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

workers = 2
worker_class = "gthread"
# Requests each worker serves at once: each slow client holds one of these threads.
threads = 8
# Seconds a worker may go without reporting to gunicorn's arbiter before it is restarted.
timeout = 30
# Seconds an idle kept-alive connection stays open; it waits without holding a thread.
keepalive = 5
# Seconds a request body may take to arrive after its headers.
BODY_SECONDS = 10.0

# The body deadline of the request this thread is serving.
_current = threading.local()


def _stop_reading(sock: socket.socket) -> None:
    """End reading from ``sock``: the read waiting on it returns end-of-file."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)


def pre_request(worker: Any, req: Any) -> None:
    """Start the body deadline; gunicorn calls this once the headers are read."""
    # An HTTP/1 request reads its body from this socket; an HTTP/2 stream has none of its own.
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if sock is None:
        return
    timer = threading.Timer(BODY_SECONDS, _stop_reading, (sock,))
    timer.daemon = True
    timer.start()
    _current.timer = timer


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """Cancel the body deadline once the request is answered."""
    timer = getattr(_current, "timer", None)
    if timer is not None:
        timer.cancel()
        _current.timer = None
