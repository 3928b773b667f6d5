"""A gsio server instrumented for the Socket.IO Admin UI (``gsio.instrument``), for tests/admin/.

``--mode development|production``, ``--readonly``, ``--hash HASH`` (basic auth, user
``admin``, the password's bcrypt hash; without it ``auth=False``), ``--server-id ID``,
``--redis URL`` (the Redis adapter: a cluster), ``--name NAME`` (``conn.data["server"]``).

``/`` (event handlers, each acks): ``join(room)``, ``leave(room)``, ``set(key, value)``
(``conn.data[key] = value``), ``echo(*args)`` (acks its arguments), ``shout(room, text)``
(broadcasts ``shouted`` to the room), ``ping`` (no ack: its size is known). ``/other``: no
handlers. ``GET /sockets`` lists the ids of ``/``'s local connections.
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
import json  # noqa: E402

import gsio  # noqa: E402


def build(args):
    options = {}
    if args.redis:
        options["adapter"] = gsio.create_redis_adapter(args.redis)
    sio = gsio.Server(
        async_mode="threading" if args.kind == "werkzeug" else None,
        cors_allowed_origins="*" if args.cors else None,
        cors_credentials=bool(args.cors),
        **options,
    )
    auth = {"type": "basic", "username": "admin", "password": args.hash} if args.hash else False
    gsio.instrument(
        sio, auth=auth, mode=args.mode, readonly=args.readonly, server_id=args.server_id
    )

    @sio.on("connect")
    def connect(conn):
        if args.name:
            conn.data["server"] = args.name

    @sio.on("join")
    def join(conn, room):
        conn.join(room)
        return True

    @sio.on("leave")
    def leave(conn, room):
        conn.leave(room)
        return True

    @sio.on("set")
    def set_(conn, key, value):
        conn.data[key] = value
        return True

    @sio.on("echo")
    def echo(conn, *args):
        return args

    @sio.on("shout")
    def shout(conn, room, text):
        sio.to(room).emit("shouted", text)
        return True

    @sio.on("ping")
    def ping(conn, *args):
        pass

    sio.of("/other")
    return sio


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    parser.add_argument("--mode", default="development")
    parser.add_argument("--readonly", action="store_true")
    parser.add_argument("--hash")
    parser.add_argument("--server-id")
    parser.add_argument("--redis")
    parser.add_argument("--name")
    parser.add_argument("--cors", action="store_true", help="any origin, with credentials")
    args = parser.parse_args()
    common.setup_logging()
    sio = build(args)

    def sockets_app(environ, start_response):
        body = json.dumps(sorted(sio.of("/").conns)).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    common.serve_app(gsio.WSGIApp(sio, sockets_app), args.kind, args.port, args.header_timeout)


if __name__ == "__main__":
    main()
