"""A JSON-over-HTTP server on a free loopback port, for the emulators' REST APIs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

#: (method, path with query, body) -> (status, JSON payload or None)
Handle = Callable[[str, str, bytes], tuple[int, Any]]


class LoopbackJsonServer:
    """Serves ``handle`` on 127.0.0.1; ``url`` is its base. ``with`` starts and stops it.

    ``handle`` raises to refuse a request; ``refusal(exc)`` turns the exception into
    the service's own (status, error body), so each emulator keeps its service's error
    shape. Any other exception answers 500 rather than hanging up the client.
    """

    def __init__(self, handle: Handle, refusal: Callable[[Exception], tuple[int, Any] | None]):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes; no 40 ms stall

            def log_message(self, *args):  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    status, payload = handle(self.command, self.path, body)
                except Exception as exc:  # noqa: BLE001 - every failure must answer, not hang up
                    status, payload = refusal(exc) or (500, {"error": [{"message": f"emulator error: {exc!r}"}]})
                data = b"" if payload is None else orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "LoopbackJsonServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
