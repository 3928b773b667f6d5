"""The Socket.IO handlers the deployment tests need, on any server: no gevent patching here.

``smoke_server()`` returns a ``gsio.Server`` answering what ``tests/js/sio_smoke.js`` asks
(``connect`` refusing auth ``{"token": "bad"}`` and emitting ``welcome``, ``echo``, ``join``,
``to_room``) and ``info``, which acks with how this connection is served:
``{"mode": "gevent" | "threading", "backend": "NativeWebSocket" | "GeventWebSocket" |
"SimpleWebSocket" | None, "transport": ..., "server": SERVER_SOFTWARE}``.

``page_app`` is a WSGI app for every other path: ``GET /ping`` answers ``pong <mode>``.
"""

import gsio


def add_smoke_handlers(sio):
    @sio.on("connect")
    def connect(conn, auth):
        if auth.get("token") == "bad":
            raise gsio.ConnectionRefused("Not authorized", {"code": 42})
        conn.emit("welcome", conn.id)

    @sio.on("echo")
    def echo(conn, *args):
        return args

    @sio.on("join")
    def join(conn, *rooms):
        conn.join(*rooms)
        return sorted(conn.rooms - {conn.id})

    @sio.on("to_room")
    def to_room(conn, room, event, *args):
        sio.to(room).emit(event, *args)
        return "sent"

    @sio.on("info")
    def info(conn):
        return connection_info(sio, conn)

    return sio


def connection_info(sio, conn):
    esock = conn.client.transport
    return {
        "mode": sio.concurrency.name,
        "backend": type(esock.ws).__name__ if esock.ws is not None else None,
        "transport": esock.transport,
        "server": conn.environ.get("SERVER_SOFTWARE", ""),
    }


def smoke_server(**options):
    return add_smoke_handlers(gsio.Server(**options))


def page_app(sio):
    def app(environ, start_response):
        if environ.get("PATH_INFO") != "/ping":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not Found"]
        body = f"pong {sio.concurrency.name}".encode()
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app
