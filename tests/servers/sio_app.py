"""A Socket.IO server for the tests: one handler per feature, and a log of what the server saw.

Default namespace ``/`` (event handlers):

- ``connect``: auth ``{"token": "bad"}`` is refused with ConnectionRefused("Not authorized",
  {"code": 42}); ``{"token": "false"}`` makes the handler return False; otherwise it emits
  ``welcome`` (the socket id) from inside the connect handler, and with ``{"token": "kick"}``
  then calls ``conn.disconnect()`` there.
- ``echo(*args)``: acks with every argument; ``describe(*args)``: acks with what the server
  received, binaries as ``{"bytes": "<hex>"}`` (``bytes`` only: anything else is ``{"type": ...}``).
- ``bin_types``: emits ``bin_types`` with bytes, bytearray, memoryview and io.BytesIO nested in
  dicts and lists, and acks with the same.
- ``join(*rooms)`` / ``leave(room)``: ack with the rooms the socket is in (its own id left out).
- ``to_room(room, event, *args)``, ``to_rooms(rooms, event, *args)``, ``to_all(event, *args)``,
  ``except_room(room, except, event, *args)``, ``from_conn(room, event, *args)`` (``conn.to``,
  the sender excluded), ``of_emit(namespace, event, *args)`` (``sio.of(namespace).emit``),
  ``dyn_all(event, *args)`` (the dynamic parent's ``emit``): broadcasts, acked once emitted.
- ``broadcast(count, payload)``: ``sio.emit("msg", payload)`` ``count`` times in one loop (the
  shared bench's fanout); acks ``count``.
- ``ask(*args)``: ``conn.call("question", *args)`` and acks with the client's answer (described).
- ``ask_cb(*args)``: ``conn.emit("question", *args, callback=...)``; the answer lands in the log.
- ``ask_all(room, timeout)``: ``sio.timeout(timeout).to(room).call("poll", room)``; acks with
  ``{"responses": [...]}`` or ``{"timeout": true, "responses": [...]}``.
- ``fetch(room)``, ``sockets_join(room, new)``, ``sockets_leave(room, old)``,
  ``disconnect_sockets(room)``: the server-side operations on a room.
- ``kick``: ``conn.disconnect()``; ``kick_close``: ``conn.disconnect(close=True)``;
  ``close_transport``: ``conn.client.close()`` (the Engine.IO connection, no DISCONNECT packet).
- ``volatile(n)``: ``n`` volatile emits ``v`` then a normal ``v_done``.
- ``error(*args)``: an event named "error", handled as any other.
- ``later(*args, ack)``: acks from another greenlet, a little later.
- ``slow(seconds)``: sleeps in the handler, then acks ``"slept"``.
- ``seq(n)``: logged in order; ``seq_get``: acks with the numbers received.
- ``*``: any other event: logged, acked with ``["star", event, *args]``.

``/chat``: a blocking handler (``for msg in conn``): emits ``hello`` first, then ``say(room,
text)`` (``conn.to(room).emit("said", text)``), ``join(room)``, ``echo``; ``bye`` returns, which
disconnects the client.

``/admin``: middleware refusing without auth ``{"role": "admin"}`` (with ``{"role": "plain"}``:
a refusal without data); ``whoami``.

``protocol`` (on ``/`` and ``/admin``): acks ``{protocol, id, auth}`` of the connection.
``--allow-eio3``: socket.io-client 2.x is served too. ``--parser msgpack``: the msgpack parser.

``/dyn-<digits>``: a dynamic namespace; ``where`` acks with the namespace name, ``here(event,
*args)`` emits to the child namespace the socket is in.

``GET /v2``: a page running socket.io-client 2.x (``/v2/socket.io.js``) over polling: see
``V2_PAGE``.

``GET /log``: JSON of what the server saw: ``connects`` (``[{id, namespace, auth}]``),
``disconnects`` (``{id: reason}``), ``disconnecting_rooms`` (``{id: [rooms]}``), ``seq``,
``star``, ``answers`` (``ask_cb`` answers, by socket id), ``namespaces`` (the server's, by name).
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gsio  # noqa: E402

SERVER: list = []  # the server built (GET /log lists its namespaces)
LOG = {
    "connects": [],
    "disconnects": {},
    "disconnecting_rooms": {},
    "seq": {},
    "star": {},
    "answers": {},
    "v3_types": [],
}


def describe(obj):
    """A JSON picture of what the server received: binaries as hex, with their type."""
    if isinstance(obj, (list, tuple)):
        return [describe(item) for item in obj]
    if isinstance(obj, dict):
        return {key: describe(value) for key, value in obj.items()}
    if type(obj) is bytes:
        return {"bytes": obj.hex()}
    if isinstance(obj, (bytearray, memoryview)) or hasattr(obj, "read"):
        return {"type": type(obj).__name__}
    return obj


def build(args):
    sio = gsio.Server(
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_timeout,
        connect_timeout=args.connect_timeout,
        max_attachments=args.max_attachments,
        cors_allowed_origins=args.cors,
        cors_credentials=args.cors_credentials,
        allow_eio3=args.allow_eio3,
        cleanup_empty_child_namespaces=args.cleanup_empty_child_namespaces,
        parser=args.parser,
    )
    SERVER.append(sio)
    c = sio.concurrency

    def log_connect(conn, auth):
        LOG["connects"].append({"id": conn.id, "namespace": conn.namespace.name, "auth": auth})

    def log_disconnect(conn, reason):
        LOG["disconnects"][conn.id] = reason

    def log_disconnecting(conn, reason):
        LOG["disconnecting_rooms"][conn.id] = sorted(conn.rooms)

    # -- the default namespace ---------------------------------------------------------------

    @sio.on("connect")
    def connect(conn, auth):
        token = auth.get("token")
        if token == "bad":
            raise gsio.ConnectionRefused("Not authorized", {"code": 42})
        if token == "false":
            return False
        log_connect(conn, auth)
        conn.emit("welcome", conn.id)
        if token == "kick":
            conn.disconnect()
        return None

    sio.on("disconnect", log_disconnect)
    sio.on("disconnecting", log_disconnecting)

    @sio.on("echo")
    def echo(conn, *args):
        return args

    @sio.on("describe")
    def describe_args(conn, *args):
        return describe(list(args))

    @sio.on("bin_types")
    def bin_types(conn):
        payload = {
            "bytes": b"\x00\x01\xff",
            "bytearray": bytearray(b"ba"),
            "memoryview": memoryview(b"memview"),
            "bytesio": io.BytesIO(b"\xde\xad\xbe\xef"),
            "nested": [{"deep": [b"", b"x" * 1000]}, "text", 7],
        }
        conn.emit("bin_types", payload)
        payload["bytesio"] = io.BytesIO(b"\xde\xad\xbe\xef")  # read once by the emit
        return payload

    @sio.on("join")
    def join(conn, *rooms):
        conn.join(*rooms)
        return sorted(conn.rooms - {conn.id})

    @sio.on("leave")
    def leave(conn, room):
        conn.leave(room)
        return sorted(conn.rooms - {conn.id})

    @sio.on("to_room")
    def to_room(conn, room, event, *args):
        sio.to(room).emit(event, *args)
        return "sent"

    @sio.on("to_rooms")
    def to_rooms(conn, rooms, event, *args):
        op = sio.to(rooms[0])
        for room in rooms[1:]:
            op = op.to(room)  # one call per room: a socket in several gets it once
        op.emit(event, *args)
        return "sent"

    @sio.on("to_all")
    def to_all(conn, event, *args):
        sio.emit(event, *args)
        return "sent"

    @sio.on("broadcast")
    def broadcast(conn, count, payload):
        # As the shared bench's: "msg" to every connection, count times, in one loop.
        for _ in range(count):
            sio.emit("msg", payload)
        return count

    @sio.on("except_room")
    def except_room(conn, room, excepted, event, *args):
        sio.to(room).except_(excepted).emit(event, *args)
        return "sent"

    @sio.on("from_conn")
    def from_conn(conn, room, event, *args):
        conn.to(room).emit(event, *args)
        return "sent"

    @sio.on("of_emit")
    def of_emit(conn, name, event, *args):
        sio.of(name).emit(event, *args)
        return "sent"

    @sio.on("dyn_all")
    def dyn_all(conn, event, *args):
        dyn.emit(event, *args)
        return "sent"

    @sio.on("ask")
    def ask(conn, *args):
        return describe(conn.call("question", *args, timeout=10))

    @sio.on("ask_cb")
    def ask_cb(conn, *args):
        def answered(*answer):
            LOG["answers"].setdefault(conn.id, []).append(describe(list(answer)))

        conn.emit("question", *args, callback=answered)
        return "asked"

    @sio.on("ask_all")
    def ask_all(conn, room, timeout):
        try:
            responses = sio.timeout(timeout).to(room).call("poll", room)
        except gsio.AckTimeout as exc:
            return {"timeout": True, "responses": exc.responses}
        return {"responses": responses}

    @sio.on("fetch")
    def fetch(conn, room):
        return sorted(c.id for c in sio.in_(room).fetch_sockets())

    @sio.on("sockets_join")
    def sockets_join(conn, room, new_room):
        sio.in_(room).sockets_join(new_room)
        return "done"

    @sio.on("sockets_leave")
    def sockets_leave(conn, room, old_room):
        sio.in_(room).sockets_leave(old_room)
        return "done"

    @sio.on("disconnect_sockets")
    def disconnect_sockets(conn, room):
        sio.in_(room).disconnect_sockets()
        return "done"

    @sio.on("kick")
    def kick(conn):
        conn.disconnect()

    @sio.on("kick_close")
    def kick_close(conn):
        conn.disconnect(close=True)

    @sio.on("close_transport")
    def close_transport(conn):
        conn.client.close()

    @sio.on("volatile")
    def volatile(conn, n):
        for i in range(n):
            sio.to(conn.id).volatile.emit("v", i)
        conn.emit("v_done", n)
        return "done"

    @sio.on("error")
    def error(conn, *args):
        return ("error handled", *args)

    @sio.on("later")
    def later(conn, *args, ack):
        def answer():
            c.sleep(0.05)
            ack("later", *args)

        c.spawn(answer)

    @sio.on("slow")
    def slow(conn, seconds):
        time.sleep(seconds)  # monkey-patched with gevent; a real thread sleep with werkzeug
        return "slept"

    @sio.on("seq")
    def seq(conn, n):
        LOG["seq"].setdefault(conn.id, []).append(n)

    @sio.on("seq_get")
    def seq_get(conn):
        return LOG["seq"].get(conn.id, [])

    @sio.on("*")
    def catch_all(conn, event, *args):
        LOG["star"].setdefault(conn.id, []).append([event, *args])
        return ("star", event, *args)

    # -- /chat: a blocking handler -------------------------------------------------------------

    chat = sio.of("/chat")
    chat.on("connect", log_connect)
    chat.on("disconnect", log_disconnect)

    @chat.handler
    def chat_handler(conn):
        conn.emit("hello", conn.id)
        for msg in conn:
            if msg.event == "say":
                room, text = msg.args
                conn.to(room).emit("said", text)
                msg.reply("ok")
            elif msg.event == "join":
                conn.join(msg.args[0])
                msg.reply(sorted(conn.rooms - {conn.id}))
            elif msg.event == "echo":
                msg.reply(*msg.args)
            elif msg.event == "bye":
                msg.reply("bye")
                return
            else:
                msg.reply("unknown", msg.event)

    # -- /admin: middleware --------------------------------------------------------------------

    admin = sio.of("/admin")

    @admin.use
    def only_admins(conn):
        if conn.handshake.auth.get("role") == "plain":
            raise gsio.ConnectionRefused("Plain refusal")
        if conn.handshake.auth.get("role") != "admin":
            raise gsio.ConnectionRefused("Admins only", {"need": "admin"})

    admin.on("connect", log_connect)
    admin.on("disconnect", log_disconnect)

    @admin.on("whoami")
    def whoami(conn):
        return conn.handshake.auth["role"]

    def protocol(conn):
        return {"protocol": conn.protocol, "id": conn.id, "auth": conn.handshake.auth}

    admin.on("protocol", protocol)
    sio.on("protocol", protocol)

    # -- /dyn-<digits>: a dynamic namespace -----------------------------------------------------

    dyn = sio.of(re.compile(r"/dyn-\d+"))
    dyn.on("connect", log_connect)
    dyn.on("disconnect", log_disconnect)

    @dyn.on("where")
    def where(conn):
        return conn.namespace.name

    @dyn.on("here")
    def here(conn, event, *args):
        conn.namespace.emit(event, *args)
        return "sent"

    return sio


V2_DIST = Path(__file__).resolve().parents[1] / "js/node_modules/socket.io-client-v2/dist"

# The page of tests/server/test_sio_v2.py's browser test: socket.io-client 2.x over polling in
# Chromium (whose XHR takes binary: binary payloads both ways), then the upgrade.
V2_PAGE = b"""<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script src="/v2/socket.io.js"></script>
<script>
window.result = new Promise((resolve) => {
  const s = io({ transports: ["polling"], reconnection: false });
  const hex = (b) => Array.from(new Uint8Array(b)).map((x) => x.toString(16).padStart(2, "0")).join("");
  s.on("connect", () => {
    s.emit("echo", "\u20ac\ud83d\ude00", new Uint8Array([0, 1, 255]).buffer, (text, bin) => {
      s.emit("describe", new Uint8Array([7, 8]).buffer, (d) => {
        resolve({ id: s.id, text, bin: hex(bin), describe: d, transport: s.io.engine.transport.name });
        s.close();
      });
    });
  });
  s.on("error", (e) => resolve({ error: String(e) }));
});
</script>"""


def eio3_recorder(app):
    """Records the Content-Type of each Engine.IO v3 polling request and answer (``/log``'s
    ``v3_types``: ``[method, request type, answer type]``), under werkzeug."""

    def recorded(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        if "EIO=3" not in query or "transport=polling" not in query:
            return app(environ, start_response)

        def start(status, headers, *rest):
            answer = dict((k.lower(), v) for k, v in headers).get("content-type")
            entry = [environ["REQUEST_METHOD"], environ.get("CONTENT_TYPE"), answer]
            LOG["v3_types"].append(entry)
            return start_response(status, headers, *rest)

        return app(environ, start)

    return recorded


def log_app(environ, start_response):
    path = environ.get("PATH_INFO")
    if path in ("/v2", "/v2/socket.io.js"):
        body = V2_PAGE if path == "/v2" else (V2_DIST / "socket.io.js").read_bytes()
        kind = "text/html" if path == "/v2" else "application/javascript"
        start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]
    if environ.get("PATH_INFO") != "/log":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]
    body = json.dumps({**LOG, "namespaces": sorted(SERVER[-1].namespaces)}).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    parser.add_argument("--ping-interval", type=float, default=25.0)
    parser.add_argument("--ping-timeout", type=float, default=20.0)
    parser.add_argument("--connect-timeout", type=float, default=45.0)
    parser.add_argument("--max-attachments", type=int, default=10)
    parser.add_argument("--cors", default=None, help="cors_allowed_origins: one origin or '*'")
    parser.add_argument("--cors-credentials", action="store_true")
    parser.add_argument("--allow-eio3", action="store_true", help="serve socket.io-client 2.x")
    parser.add_argument("--cleanup-empty-child-namespaces", action="store_true")
    parser.add_argument("--parser", default="json", help="Server(parser=...): json or msgpack")
    args = parser.parse_args()
    common.setup_logging()
    sio = build(args)
    app = gsio.WSGIApp(sio, log_app)
    if args.kind == "werkzeug":  # (gsio's own server serves polling in its event loop)
        app = eio3_recorder(app)
    common.serve_app(app, args.kind, args.port, args.header_timeout)


if __name__ == "__main__":
    main()
