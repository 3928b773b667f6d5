"""A Socket.IO server with connection state recovery on (``--off``: off), for tests/server/test_recovery.py.

tests/js/recovery_server.js is its Node twin (the same events on npm socket.io), so that one
client script runs against both.

Default namespace ``/`` (event handlers; middleware counts its calls):

- ``join(room)``: acks with the socket's rooms.
- ``stream(n, room, gap_ms)``: acks at once, then from another greenlet emits ``d(i)`` to the
  connection (``conn.emit``, on the connection object it started with) and ``r(i)`` to the room
  (``sio.to(room).emit``), for i in 0..n-1, ``gap_ms`` apart.
- ``whoami``: acks ``{id, recovered, data}``; ``set(key, value)``: ``conn.data[key] = value``.
- ``kick``: ``conn.disconnect()``.

``/blocking``: a blocking handler that counts the ``ping`` events it receives (emitting
``count(n)`` after each) and emits ``tick(i)`` for i in 0..ticks-1 whenever 20 ms pass without an
event; ``total`` acks ``{count, ticks, id, recovered}``. Its runs and disconnects are logged.

``--redis URL``: with the pub/sub Redis adapter (``create_redis_adapter``); ``--streams URL``:
with the Redis Streams adapter (``create_redis_streams_adapter``).

``--observe``: an observer logs ``observed``: ``[hook, id, namespace(, reason)]`` for each
connection told connected or disconnected.

``GET /log``: ``connects`` (``[{id, namespace, recovered}]``), ``disconnects``
(``[{id, namespace, reason}]``), ``middleware`` (calls), ``blocking_runs``, ``blocking_ended``,
``observed``.
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
import json  # noqa: E402

import gsio  # noqa: E402

LOG = {
    "connects": [],
    "disconnects": [],
    "middleware": 0,
    "blocking_runs": 0,
    "blocking_ended": [],
    "observed": [],
}


class Observer:
    def connected(self, conn):
        LOG["observed"].append(["connected", conn.id, conn.namespace.name])

    def disconnected(self, conn, reason):
        LOG["observed"].append(["disconnected", conn.id, conn.namespace.name, reason])


def build(args):
    options = {
        "max_disconnection_duration": args.max_duration,
        "skip_middlewares": not args.run_middlewares,
        "max_packets": args.max_packets,
    }
    adapter = None
    if args.redis:
        adapter = gsio.create_redis_adapter(args.redis)
    elif args.streams:
        adapter = gsio.create_redis_streams_adapter(args.streams)
    sio = gsio.Server(
        adapter=adapter,
        connection_state_recovery=None if args.off else options,
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_timeout,
        allow_eio3=args.allow_eio3,
    )
    c = sio.concurrency
    if args.observe:
        sio.observe(Observer())

    @sio.use
    def middleware(conn):
        LOG["middleware"] += 1

    for name in ("/", "/blocking"):

        @sio.on("connect", namespace=name)
        def connect(conn):
            LOG["connects"].append(
                {"id": conn.id, "namespace": conn.namespace.name, "recovered": conn.recovered}
            )

        @sio.on("disconnect", namespace=name)
        def disconnect(conn, reason):
            LOG["disconnects"].append(
                {"id": conn.id, "namespace": conn.namespace.name, "reason": reason}
            )

    @sio.on("join")
    def join(conn, room):
        conn.join(room)
        return sorted(conn.rooms)

    @sio.on("stream")
    def stream(conn, n, room, gap_ms):
        def run():
            for i in range(n):
                conn.emit("d", i)
                sio.to(room).emit("r", i)
                c.sleep(gap_ms / 1000)

        c.spawn(run)
        return "started"

    @sio.on("whoami")
    def whoami(conn):
        return {"id": conn.id, "recovered": conn.recovered, "data": conn.data}

    @sio.on("set")
    def set_data(conn, key, value):
        conn.data[key] = value
        return True

    @sio.on("kick")
    def kick(conn):
        conn.disconnect()

    @sio.of("/blocking").handler
    def counter(conn):
        LOG["blocking_runs"] += 1
        count = tick = 0
        try:
            while True:
                try:
                    msg = conn.receive(timeout=0.02)
                except TimeoutError:
                    if tick < args.ticks:
                        conn.emit("tick", tick)
                        tick += 1
                    continue
                if msg.event == "ping":
                    count += 1
                    conn.emit("count", count)
                elif msg.event == "total":
                    msg.reply(
                        {"count": count, "ticks": tick, "id": conn.id, "recovered": conn.recovered}
                    )
        except gsio.ConnectionClosed as exc:
            LOG["blocking_ended"].append({"id": conn.id, "reason": exc.reason})
            raise

    def log_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(LOG).encode()]

    return gsio.WSGIApp(sio, log_app)


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    parser.add_argument("--max-duration", type=float, default=120.0)
    parser.add_argument("--max-packets", type=int, default=10_000)
    parser.add_argument("--run-middlewares", action="store_true")
    parser.add_argument("--off", action="store_true", help="recovery off (the baseline)")
    parser.add_argument("--redis", help="a Redis URL: the pub/sub Redis adapter")
    parser.add_argument("--streams", help="a Redis URL: the Redis Streams adapter")
    parser.add_argument("--ticks", type=int, default=40)
    parser.add_argument("--observe", action="store_true")
    parser.add_argument("--ping-interval", type=float, default=25.0)
    parser.add_argument("--ping-timeout", type=float, default=20.0)
    parser.add_argument("--allow-eio3", action="store_true", help="serve socket.io-client 2.x")
    args = parser.parse_args()
    common.setup_logging()
    common.serve_app(build(args), args.kind, args.port)


if __name__ == "__main__":
    main()
