"""What every test server script shares: gevent patching, then serving on a free port.

A server script starts with::

    import common

    common.patch_for_kind()  # before anything else: monkey-patches for the gevent kinds

and ends with ``common.serve_app(app, kind, port)``, which prints ``READY <port>`` once it is
listening. The kinds:

- ``gsio``: ``gsio.serve(app)``, gevent's pywsgi with gsio's handler and WebSocket frame layer;
- ``pywsgi-ws``: ``gsio.serve(app, websocket="gevent-websocket")``, gevent-websocket's handler;
- ``pywsgi``: ``gsio.serve(app, websocket=False)``, plain pywsgi, WebSocket through simple-websocket;
- ``werkzeug``: ``werkzeug.serving`` with threads, gevent neither imported nor patched.

This module imports nothing but ``sys`` at import time, so that patching comes first.
"""

import sys

KINDS = ("gsio", "pywsgi-ws", "pywsgi", "werkzeug")
WEBSOCKET = {"gsio": True, "pywsgi-ws": "gevent-websocket", "pywsgi": False}


def kind_from_argv(argv=None):
    """The value of ``--kind`` (``gsio`` when absent), read without argparse."""
    argv = sys.argv[1:] if argv is None else argv
    for i, arg in enumerate(argv):
        if arg == "--kind" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--kind="):
            return arg.split("=", 1)[1]
    return "gsio"


def patch_for_kind():
    """Monkey-patch with gevent for the gevent kinds; returns the kind."""
    kind = kind_from_argv()
    if kind not in KINDS:
        sys.exit(f"unknown --kind {kind!r}; one of {', '.join(KINDS)}")
    if kind != "werkzeug":
        from gevent import monkey

        monkey.patch_all()
    return kind


def add_common_arguments(parser):
    parser.add_argument("--kind", choices=KINDS, default="gsio")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--header-timeout", type=float, default=None, help="make_server's (default: its own)"
    )


def setup_logging():
    """gsio's log on stderr (the test fixture reads it and fails on a Traceback)."""
    import logging

    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    logging.getLogger("gsio.access").setLevel(logging.WARNING)


def _ready(port):
    print(f"READY {port}", flush=True)


def serve_app(app, kind, port, header_timeout=None):
    """Serve ``app`` (a WSGI app, a gsio Engine or Server) on 127.0.0.1:``port``, forever;
    ``header_timeout`` is gsio.serve's (None: its default)."""
    import gsio

    if kind == "werkzeug":
        from werkzeug.serving import make_server

        server = make_server("127.0.0.1", port, gsio.engine.wsgi.as_wsgi(app), threaded=True)
        _ready(server.port)
        server.serve_forever()
        return

    import socket

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    _ready(listener.getsockname()[1])  # connections wait in the backlog until serve() runs
    options = {} if header_timeout is None else {"header_timeout": header_timeout}
    gsio.serve(app, websocket=WEBSOCKET[kind], listener=listener, **options)
