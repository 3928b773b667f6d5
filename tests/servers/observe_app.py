"""A Socket.IO server watched by an observer (``sio.observe``), for tests/server/test_observers.py.

Everything the observer is told lands in ``GET /log`` as ``{"seen": [[hook, ...], ...]}``;
``conn.on_any`` / ``conn.on_any_outgoing`` listeners (on every connection of ``/`` and of the
blocking ``/blocking``) log ``any_in`` / ``any_out`` by socket id. With ``--raising`` a second
observer raises in every method it has (``event_received``, ``connected``): it must be logged
once each and change nothing. With ``--unobserved`` no observer is added.

``/`` (event handlers): ``echo(*args)`` acks its arguments; ``join(room)``, ``leave(room)``;
``shout(room, text)`` broadcasts ``shouted`` to the room; ``direct(text)`` emits ``direct``
back; ``ask(seconds, event)`` emits ``event`` with ``conn.timeout(seconds)`` and acks, once the
callback ran, ``[error class name or None, ack args, acks still expected, callback count]``.

``/blocking``: a blocking handler with an ``on_any`` listener; ``report`` acks its log.

``--headers``: ``initial_headers`` adds ``X-Initial: 1`` (and a pair that is no header,
dropped), ``headers`` adds ``X-Every: <method>``; a request with ``?boom=1`` makes ``headers``
raise.
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
import json  # noqa: E402

import gsio  # noqa: E402

LOG: dict = {"seen": [], "any_in": {}, "any_out": {}}


class Recorder(gsio.Observer):
    def engine_opened(self, socket):
        LOG["seen"].append(["engine_opened", socket.sid, socket.transport])

    def engine_upgraded(self, socket):
        LOG["seen"].append(["engine_upgraded", socket.sid, socket.transport])

    def engine_closed(self, socket, reason):
        LOG["seen"].append(["engine_closed", socket.sid, reason])

    def connection_error(self, environ, code, message):
        LOG["seen"].append(["connection_error", code, message, environ.get("QUERY_STRING")])

    def connected(self, conn):
        sid = conn.client.transport.sid
        LOG["seen"].append(["connected", conn.id, conn.namespace.name, sid])

    def disconnected(self, conn, reason):
        LOG["seen"].append(["disconnected", conn.id, reason])

    def joined(self, namespace, room, sid):
        LOG["seen"].append(["joined", namespace, room, sid])

    def left(self, namespace, room, sid):
        LOG["seen"].append(["left", namespace, room, sid])

    def event_received(self, conn, event, args, size):
        LOG["seen"].append(["event_received", conn.id, event, describe(args), size])

    def event_sent(self, conn, event, args, size):
        LOG["seen"].append(["event_sent", conn.id, event, describe(args), size])

    def ack_pending(self, conn, ack_id):
        LOG["seen"].append(["ack_pending", conn.id, ack_id])

    def ack_done(self, conn, ack_id, outcome):
        LOG["seen"].append(["ack_done", conn.id, ack_id, outcome])


class Raising:
    """Not an Observer subclass: any object with some of its methods."""

    def event_received(self, conn, event, args, size):
        raise RuntimeError("observer bug (event_received)")

    def connected(self, conn):
        raise RuntimeError("observer bug (connected)")


def describe(args):
    return [{"bytes": a.hex()} if isinstance(a, bytes) else a for a in args]


def listen(conn):
    any_in = LOG["any_in"].setdefault(conn.id, [])
    any_out = LOG["any_out"].setdefault(conn.id, [])
    conn.on_any(lambda event, *args: any_in.append([event, *describe(args)]))
    conn.on_any_outgoing(lambda event, *args: any_out.append([event, *describe(args)]))


def initial_headers(headers, environ):
    headers.append(("X-Initial", "1"))
    headers.append(("X-Bad", "a\r\nInjected: yes"))


def every_headers(headers, environ):
    if "boom=1" in environ.get("QUERY_STRING", ""):
        raise RuntimeError("headers hook bug")
    headers.append(("X-Every", environ["REQUEST_METHOD"]))


def build(args):
    options = {}
    if args.headers:
        options = {"initial_headers": initial_headers, "headers": every_headers}
    sio = gsio.Server(async_mode="threading" if args.kind == "werkzeug" else None, **options)
    if not args.unobserved:
        sio.observe(Recorder())
    if args.raising:
        sio.observe(Raising())

    @sio.on("connect")
    def connect(conn):
        listen(conn)

    @sio.on("echo")
    def echo(conn, *args):
        return args

    @sio.on("join")
    def join(conn, room):
        conn.join(room)
        return True

    @sio.on("leave")
    def leave(conn, room):
        conn.leave(room)
        return True

    @sio.on("shout")
    def shout(conn, room, text):
        sio.to(room).emit("shouted", text)
        return True

    @sio.on("direct")
    def direct(conn, text):
        conn.emit("direct", text)
        return True

    @sio.on("ask")
    def ask(conn, seconds, event, ack):
        calls = []

        def answered(err, *answer):
            calls.append(err)
            if len(calls) == 1:
                # (a little later: a second call of the callback would show in the count)
                sio.concurrency.sleep(0.2)
                name = None if err is None else type(err).__name__
                ack(name, list(answer), len(conn._acks), len(calls))

        conn.timeout(seconds).emit(event, "why?", callback=answered)

    blocking = sio.of("/blocking")

    @blocking.handler
    def serve(conn):
        seen = []
        conn.on_any(lambda event, *args: seen.append([event, *args]))
        for msg in conn:
            if msg.event == "report":
                msg.reply(seen)
            else:
                msg.reply(msg.event)

    return sio


def log_app(environ, start_response):
    if environ.get("PATH_INFO") != "/log":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]
    body = json.dumps(LOG).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    parser.add_argument("--raising", action="store_true")
    parser.add_argument("--unobserved", action="store_true")
    parser.add_argument("--headers", action="store_true")
    args = parser.parse_args()
    common.setup_logging()
    app = gsio.WSGIApp(build(args), log_app)
    common.serve_app(app, args.kind, args.port, args.header_timeout)


if __name__ == "__main__":
    main()
