"""Serving the emulator over HTTP with werkzeug's threaded server."""

from __future__ import annotations

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from neon_emulator.app import EmulatorApp


class QuietHandler(WSGIRequestHandler):
    """No access log: tests and benchmarks send thousands of requests."""

    def log_request(self, code="-", size="-") -> None:
        pass


def build_server(
    app: EmulatorApp, host: str, port: int, *, verbose: bool = False
) -> BaseWSGIServer:
    server = make_server(
        host,
        port,
        app,
        threaded=True,
        request_handler=WSGIRequestHandler if verbose else QuietHandler,
    )
    # Many clients at once (the 50-client test, the benchmark) must not see refused connections.
    server.socket.listen(1024)
    return server
