"""A gsio server in a Redis cluster, for the cluster tests; tests/js/cluster_server.js is its
Node twin (socket.io + @socket.io/redis-adapter) with the same events, so a test can mix them.

``--redis URL`` (or ``--host-bus DIR``: the in-host adapter between the servers sharing DIR,
no Redis) and ``--name NAME`` (each socket's ``conn.data`` is ``{"server": NAME}``);
``--requests-timeout S``, ``--specific-responses`` (``publish_on_specific_response_channel``),
``--streams`` (the Redis Streams adapter instead), ``--recovery`` (connection state recovery on),
``--no-forwarding`` (``forward_requests=False``: no forwarding to a session's server),
``--allow-eio3`` (socket.io-client 2.x served too).
Events of ``/`` and ``/chat`` (each acks once done; a broadcast acks with ``true``):

- ``whoami``: ``{"server": NAME, "id": sid}``; ``join(*rooms)`` / ``leave(room)``: ack rooms.
- ``to_room(room, event, *args)``, ``to_all(event, *args)``, ``except_room(room, except,
  event, *args)``, ``to_local(event, *args)`` (``.local``), ``to_rooms(rooms, event, *args)``.
- ``fetch(room)``: ``[{id, rooms, data, auth}]`` of every socket in ``room`` (all with null),
  cluster-wide, sorted by id; ``{"error": message}`` on a timeout.
- ``remote(room, action, arg)``: for every fetched socket, ``emit``/``join``/``leave``/
  ``disconnect`` through the fetched object (remote or local).
- ``sockets_join(room, new)``, ``sockets_leave(room, old)``, ``disconnect_sockets(room)``.
- ``ask_all(room, timeout)``: a broadcast asking for acks (``poll``), cluster-wide; acks with
  ``{"responses": sorted}`` or ``{"timeout": true, "responses": sorted}``.
- ``server_emit(event, *args)``: ``server_side_emit``; ``server_call(event, *args)``:
  ``server_side_call``, acks with the sorted answers (or ``{"error": ...}``).

Server-side handlers: ``hello(*args)`` answers ``"hello from NAME"`` and logs what came;
``GET /log`` shows ``{"server_side": [...], "uid": the adapter's uid in /, "servers": {nsp:
server_count}}``.
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
import json  # noqa: E402

import gsio  # noqa: E402

parser = argparse.ArgumentParser()
common.add_common_arguments(parser)
parser.add_argument("--redis")
parser.add_argument("--host-bus")
parser.add_argument("--name", default="gsio")
parser.add_argument("--requests-timeout", type=float, default=5.0)
parser.add_argument("--specific-responses", action="store_true")
parser.add_argument("--streams", action="store_true")
parser.add_argument("--recovery", action="store_true")
parser.add_argument("--no-forwarding", action="store_true")
parser.add_argument("--allow-eio3", action="store_true", help="serve socket.io-client 2.x too")
parser.add_argument("--parser", default="json", help="Server(parser=...): json or msgpack")
options = parser.parse_args()
NAME = options.name
LOG = {"server_side": []}

common.setup_logging()
if options.host_bus:
    adapter = gsio.create_host_adapter(options.host_bus, requests_timeout=options.requests_timeout)
elif options.streams:
    adapter = gsio.create_redis_streams_adapter(
        options.redis, requests_timeout=options.requests_timeout
    )
else:
    adapter = gsio.create_redis_adapter(
        options.redis,
        requests_timeout=options.requests_timeout,
        publish_on_specific_response_channel=options.specific_responses,
        forward_requests=not options.no_forwarding,
    )
recovery = {"max_disconnection_duration": 60} if options.recovery else None
sio = gsio.Server(
    adapter=adapter,
    ping_interval=5,
    connection_state_recovery=recovery,
    allow_eio3=options.allow_eio3,
    parser=options.parser,
)


def _sorted(values):
    return sorted(values, key=lambda v: json.dumps(v, sort_keys=True, default=repr))


def register(nsp):
    @nsp.on("connect")
    def connect(conn, auth):
        conn.data = {"server": NAME}

    @nsp.on("whoami")
    def whoami(conn):
        return {"server": NAME, "id": conn.id}

    @nsp.on("join")
    def join(conn, *rooms):
        conn.join(*rooms)
        return sorted(conn.rooms - {conn.id})

    @nsp.on("leave")
    def leave(conn, room):
        conn.leave(room)
        return sorted(conn.rooms - {conn.id})

    @nsp.on("to_room")
    def to_room(conn, room, event, *args):
        nsp.to(room).emit(event, *args)
        return True

    @nsp.on("to_rooms")
    def to_rooms(conn, rooms, event, *args):
        nsp.to(rooms).emit(event, *args)
        return True

    @nsp.on("to_all")
    def to_all(conn, event, *args):
        nsp.emit(event, *args)
        return True

    @nsp.on("to_local")
    def to_local(conn, event, *args):
        nsp.local.emit(event, *args)
        return True

    @nsp.on("except_room")
    def except_room(conn, room, except_, event, *args):
        op = nsp.to(room) if room else nsp
        op.except_(except_).emit(event, *args)
        return True

    def fetched(room):
        return nsp.to(room).fetch_sockets() if room else nsp.fetch_sockets()

    @nsp.on("fetch")
    def fetch(conn, room=None):
        try:
            sockets = fetched(room)
        except gsio.ClusterTimeout as exc:
            return {"error": str(exc)}
        return sorted(
            (
                {
                    "id": s.id,
                    "rooms": sorted(s.rooms),
                    "data": s.data,
                    "auth": s.handshake.auth,
                }
                for s in sockets
            ),
            key=lambda s: s["id"],
        )

    @nsp.on("remote")
    def remote(conn, room, action, *args):
        for s in fetched(room):
            getattr(s, action)(*args)
        return True

    @nsp.on("sockets_join")
    def sockets_join(conn, room, new):
        nsp.in_(room).sockets_join(new)
        return True

    @nsp.on("sockets_leave")
    def sockets_leave(conn, room, old):
        nsp.in_(room).sockets_leave(old)
        return True

    @nsp.on("disconnect_sockets")
    def disconnect_sockets(conn, room):
        nsp.in_(room).disconnect_sockets()
        return True

    @nsp.on("ask_all")
    def ask_all(conn, room, timeout):
        try:
            responses = nsp.timeout(timeout).to(room).call("poll", room)
        except gsio.AckTimeout as exc:
            return {"timeout": True, "responses": _sorted(exc.responses)}
        return {"responses": _sorted(responses)}

    @nsp.on("server_emit")
    def server_emit(conn, event, *args):
        nsp.server_side_emit(event, *args)
        return True

    @nsp.on("server_call")
    def server_call(conn, event, *args):
        try:
            return _sorted(nsp.server_side_call(event, *args))
        except gsio.ClusterTimeout as exc:
            return {"error": str(exc), "responses": _sorted(exc.responses)}

    @nsp.on_server_side("hello")
    def hello(*args):
        LOG["server_side"].append([nsp.name, *args])
        return f"hello from {NAME}"


register(sio.of("/"))
register(sio.of("/chat"))


def app(environ, start_response):
    if environ["PATH_INFO"] == "/log":
        servers = {nsp: sio.of(nsp).adapter.server_count() for nsp in ("/", "/chat")}
        body = json.dumps({**LOG, "uid": sio.of("/").adapter.uid, "servers": servers}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


common.serve_app(gsio.WSGIApp(sio, app), KIND, options.port)
