"""A Socket.IO server that floods a room, for the tests of ``max_outbound_buffer``.

Events of the default namespace:

- ``join(room)``: joins ``room``; acks ``"joined"``.
- ``echo(*args)``: acks with every argument (the round trips the tests time).
- ``flood(room, size, interval, volatile)``: a greenlet emits ``flood(n, "x" * size)`` to
  ``room`` every ``interval`` seconds (volatile ones if asked) until ``flood_stop`` (or 60 s);
  acks ``"flooding"``.
- ``flood_stop``: stops it; acks with how many it emitted.

``GET /log``: JSON ``{"disconnects": {socket id: reason}, "peak": the most bytes buffered for
one client seen after each flood emit, "buffered": {engine sid: bytes buffered now},
"emitted": n}``.

``--max-outbound-buffer N``: the engine's ``max_outbound_buffer`` (the default if absent).
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
import json  # noqa: E402

import gsio  # noqa: E402

LOG = {"disconnects": {}, "peak": 0, "buffered": {}, "emitted": 0}
FLOOD = {"generation": 0, "running": False}


def build(args):
    options = {}
    if args.max_outbound_buffer is not None:
        options["max_outbound_buffer"] = args.max_outbound_buffer
    sio = gsio.Server(ping_interval=args.ping_interval, **options)
    c = sio.concurrency
    engine = sio.engine

    @sio.on("disconnect")
    def disconnect(conn, reason):
        LOG["disconnects"][conn.id] = reason

    @sio.on("join")
    def join(conn, room):
        conn.join(room)
        return "joined"

    @sio.on("echo")
    def echo(conn, *args):
        return args

    @sio.on("flood")
    def flood(conn, room, size, interval, volatile):
        if FLOOD["running"]:
            return "flooding already"
        FLOOD["running"] = True
        FLOOD["generation"] += 1
        c.spawn(_flood, FLOOD["generation"], room, "x" * size, interval, volatile)
        return "flooding"

    def _flood(generation, room, payload, interval, volatile):
        op = sio.to(room)
        if volatile:
            op = op.volatile
        deadline = c.monotonic() + 60
        while FLOOD["generation"] == generation and c.monotonic() < deadline:
            op.emit("flood", LOG["emitted"], payload)
            LOG["emitted"] += 1
            buffered = [getattr(s, "buffered_bytes", 0) for s in list(engine.sockets.values())]
            LOG["peak"] = max(LOG["peak"], *buffered, 0)
            c.sleep(interval)
        if FLOOD["generation"] == generation:
            FLOOD["running"] = False

    @sio.on("flood_stop")
    def flood_stop(conn):
        FLOOD["running"] = False
        FLOOD["generation"] += 1
        return LOG["emitted"]

    return sio


def make_log_app(sio):
    def log_app(environ, start_response):
        if environ.get("PATH_INFO") != "/log":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not Found"]
        sockets = list(sio.engine.sockets.items())
        LOG["buffered"] = {sid: getattr(s, "buffered_bytes", 0) for sid, s in sockets}
        body = json.dumps(LOG).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return log_app


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    parser.add_argument("--max-outbound-buffer", type=int, default=None)
    parser.add_argument("--ping-interval", type=float, default=25.0)
    args = parser.parse_args()
    common.setup_logging()
    sio = build(args)
    common.serve_app(gsio.WSGIApp(sio, make_log_app(sio)), args.kind, args.port)


if __name__ == "__main__":
    main()
