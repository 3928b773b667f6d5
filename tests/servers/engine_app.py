"""An Engine.IO echo server for the tests.

Every message comes back as it came (text stays text, binary stays binary), except:

- ``close``: the server closes the session (``socket.close()``);
- ``crash``: the handler raises (a bug: the request that brought it gets a 500);
- ``burst:N`` (or ``burst:N:tag``): the server sends ``m0`` .. ``m{N-1}`` (``tag0`` ..) at once.

``--blocking-handler`` makes it a handler that may block (``nonblocking = False``): under gsio's
own WebSocket layer a greenlet then reads each connection, instead of the event loop.

Beside the Engine.IO path it answers:

- ``GET /reasons``: ``{sid: close reason}`` of every session closed so far;
- ``GET /sessions``: ``{sid: {"transport", "state", "get_active", "post_active", "protocol"}}``
  of the open sessions;
- ``GET /census``: ``{"fds": N, "greenlets": N, "polling_connections": N}``: the open file
  descriptors, then what is alive after a garbage collection: greenlets, and connections in
  gsio.io.pollnative's event loop;
- ``GET /spawned``: ``{"spawned": N}``: how many greenlets ever ran.
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
import json  # noqa: E402
import warnings  # noqa: E402

import gsio  # noqa: E402
from gsio.io.collector import collect_all  # noqa: E402


class Echo(gsio.EngineHandler):
    def __init__(self):
        self.reasons = {}

    def on_message(self, socket, data):
        if data == "close":
            socket.close()
        elif data == "crash":
            raise RuntimeError("a bug in the handler")
        elif isinstance(data, str) and data.startswith("burst:"):
            _, count, *tag = data.split(":")
            prefix = tag[0] if tag else "m"
            for i in range(int(count)):
                socket.send(f"{prefix}{i}")
        else:
            socket.send(data)

    def on_close(self, socket, reason):
        self.reasons[socket.sid] = reason


_started = [0]  # greenlets that ever ran (counted by _trace)


def _trace(event, args):
    # greenlet.settrace: the first switch to a greenlet counts it (those seen, weakly held).
    if event in ("switch", "throw"):
        target = args[1]
        if target not in _SEEN:
            _SEEN.add(target)
            _started[0] += 1


def _count_greenlets():
    global _SEEN
    import weakref

    import greenlet

    _SEEN = weakref.WeakSet()
    greenlet.settrace(_trace)


def _census():
    import gc
    import os

    import greenlet

    fds = len(os.listdir("/proc/self/fd"))  # before collecting: no socket closed by the GC
    collect_all()  # (gc.collect() and get_objects() leave frozen objects out)
    objects = gc.get_objects()
    return {
        "fds": fds,
        "greenlets": sum(1 for o in objects if isinstance(o, greenlet.greenlet)),
        "polling_connections": sum(1 for o in objects if type(o).__name__ == "PollingConnection"),
    }


def make_info_app(engine, handler):
    def info_app(environ, start_response):
        path = environ.get("PATH_INFO")
        if path == "/reasons":
            body = dict(handler.reasons)
        elif path == "/census":
            body = _census()
        elif path == "/spawned":
            body = {"spawned": _started[0]}
        elif path == "/sessions":
            body = {
                sid: {
                    "transport": s.session.transport,
                    "state": s.session.state.value,
                    "get_active": s.session.get_active,
                    "post_active": s.session.post_active,
                    "protocol": s.protocol,
                }
                for sid, s in list(engine.sockets.items())
            }
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not Found"]
        data = json.dumps(body).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]

    return info_app


def main():
    # A socket left for the garbage collector to close is a bug: say so in the output.
    warnings.simplefilter("always", ResourceWarning)
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    parser.add_argument("--ping-interval", type=float, default=25.0)
    parser.add_argument("--ping-timeout", type=float, default=20.0)
    parser.add_argument("--max-payload", type=int, default=1_000_000)
    parser.add_argument("--transports", default="polling,websocket")
    parser.add_argument("--cors", default=None, help="'*' or a comma list of origins")
    parser.add_argument("--cors-credentials", action="store_true")
    parser.add_argument("--cookie", default=None)
    parser.add_argument("--max-connections", type=int, default=None)
    parser.add_argument("--allow-upgrades", dest="allow_upgrades", action="store_true")
    parser.add_argument("--no-upgrades", dest="allow_upgrades", action="store_false")
    parser.set_defaults(allow_upgrades=True)
    parser.add_argument("--upgrade-timeout", type=float, default=10.0)
    parser.add_argument("--body-timeout", type=float, default=30.0)
    parser.add_argument("--tls", default=None, help="CERTFILE,KEYFILE: HTTPS (kind gsio only)")
    parser.add_argument("--deny-header", default=None, help="refuse requests with this header")
    parser.add_argument("--compression-threshold", type=int, default=1024)
    parser.add_argument("--max-outbound-buffer", type=int, default=4_000_000)
    parser.add_argument(
        "--unknown-session",
        action="store_true",
        help="answer requests for unknown sessions with 200 'owned elsewhere: <sid> <method>'",
    )
    parser.add_argument(
        "--blocking-handler",
        action="store_true",
        help="a handler with nonblocking = False: a greenlet reads each WebSocket connection",
    )
    parser.add_argument("--allow-eio3", action="store_true", help="serve Engine.IO v3 too")
    args = parser.parse_args()
    common.setup_logging()
    _count_greenlets()

    cors = args.cors
    if cors is not None and cors != "*":
        cors = cors.split(",")
    allow_request = None
    if args.deny_header:
        key = "HTTP_" + args.deny_header.upper().replace("-", "_")

        def allow_request(environ):
            return key not in environ

    unknown_session = None
    if args.unknown_session:
        from gsio.protocol.http import Response

        def unknown_session(environ, sid):
            if sid == "ours-too":
                return None  # the protocol's answer
            body = f"owned elsewhere: {sid} {environ['REQUEST_METHOD']}".encode()
            return Response(200, [("Content-Type", "text/plain")], body)

    handler = Echo()
    if args.blocking_handler:
        handler.nonblocking = False
    engine = gsio.Engine(
        handler,
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_timeout,
        max_payload=args.max_payload,
        transports=args.transports.split(","),
        allow_upgrades=args.allow_upgrades,
        upgrade_timeout=args.upgrade_timeout,
        body_timeout=args.body_timeout,
        cors_allowed_origins=cors,
        cors_credentials=args.cors_credentials,
        cookie=args.cookie,
        allow_request=allow_request,
        max_connections=args.max_connections,
        compression_threshold=args.compression_threshold,
        max_outbound_buffer=args.max_outbound_buffer,
        unknown_session=unknown_session,
        allow_eio3=args.allow_eio3,
    )
    app = gsio.WSGIApp(engine, make_info_app(engine, handler))
    if args.tls:
        serve_tls(app, args.port, *args.tls.split(","))
    common.serve_app(app, args.kind, args.port, args.header_timeout)


def serve_tls(app, port, certfile, keyfile):
    """HTTPS, as a user serves it: pywsgi with gsio's handler and a certificate (gsio.serve
    has no TLS options). Its long-polling requests are served in greenlets."""
    from gevent import pywsgi

    from gsio.io.handler import WSGIHandler

    server = pywsgi.WSGIServer(
        ("127.0.0.1", port), app, handler_class=WSGIHandler, certfile=certfile, keyfile=keyfile
    )
    server.start()
    common._ready(server.server_port)
    server.serve_forever()


if __name__ == "__main__":
    main()
