"""The ``gsio`` command: ``gsio serve module:attr`` and ``gsio demo``.

gevent's monkey-patching happens here, before the user's module is imported, as gunicorn's
gevent worker does it: blocking code in handlers then yields instead of stalling the server.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

DEMO_PAGE = b"""<!doctype html>
<title>gsio demo</title>
<h1>gsio is running</h1>
<p>Socket.IO is served at <code>/socket.io/</code>. Try it from Node:</p>
<pre>npm install socket.io-client
node -e "const s = require('socket.io-client').io('http://HOST');
s.emitWithAck('echo', 'hello').then(r => { console.log(r); s.close(); })"</pre>
"""


def _demo_app():  # type: ignore[no-untyped-def]
    import gsio

    sio = gsio.Server()

    @sio.on("echo")
    def echo(conn, *args):  # type: ignore[no-untyped-def]
        return args

    @sio.on("chat")
    def chat(conn, text):  # type: ignore[no-untyped-def]
        sio.emit("chat", {"from": conn.id, "text": text})

    def page(environ, start_response):  # type: ignore[no-untyped-def]
        body = DEMO_PAGE.replace(b"HOST", environ.get("HTTP_HOST", "localhost").encode())
        start_response(
            "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return gsio.WSGIApp(sio, page)


def _load(target: str) -> object:
    import importlib

    module_name, _, attr = target.partition(":")
    sys.path.insert(0, ".")
    obj: object = importlib.import_module(module_name)
    for part in (attr or "sio").split("."):
        obj = getattr(obj, part)
    return obj


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="gsio", description="Serve gsio on gevent.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="serve a gsio.Server, Engine or WSGI app")
    serve_p.add_argument("target", help="module:attribute, e.g. app:sio or app:application")
    demo_p = sub.add_parser("demo", help="serve a small demo (echo and chat events)")
    for p in (serve_p, demo_p):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=5000, help="0: any free port")
        p.add_argument(
            "--shutdown-timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help="on SIGTERM or SIGINT, how long connections get to close (default: the"
            " engine's shutdown_timeout, 5)",
        )
    args = parser.parse_args(argv)

    from gevent import monkey

    monkey.patch_all()
    import gsio

    app = _demo_app() if args.command == "demo" else _load(args.target)
    server = gsio.make_server(app, args.host, args.port)  # bound and listening from here on
    host, port = server.address[:2]
    print(f"gsio {gsio.__version__} serving on http://{host}:{port}", flush=True)
    # Until SIGTERM or SIGINT (Ctrl-C), then a graceful shutdown and a quiet exit.
    gsio.serve_until_stopped(server, args.shutdown_timeout)


if __name__ == "__main__":
    main()
