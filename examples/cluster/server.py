"""The chat of examples/chat.py as one server of a cluster on Redis.

Run two (or more) of them on one redis-server, with the Node twin (server.js) if you like:

    redis-server --port 6379 &
    python examples/cluster/server.py --port 5001 &
    python examples/cluster/server.py --port 5002 &
    node examples/cluster/server.js 5003 &          # after npm ci --prefix examples
    node examples/chat_client.js ann lobby http://127.0.0.1:5001
    node examples/chat_client.js bob lobby http://127.0.0.1:5003

What ann says in "lobby" reaches bob, whichever server each is on. ``notify.py`` emits to the
room from a plain script, through Redis.
"""

import argparse

from gevent import monkey

monkey.patch_all()

import gsio  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=5001)
parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
options = parser.parse_args()

sio = gsio.Server(adapter=gsio.create_redis_adapter(options.redis))


@sio.on("connect")
def connect(conn, auth):
    name = (auth or {}).get("name")
    if not name:
        raise gsio.ConnectionRefused("a name is required", {"hint": "io(url, {auth: {name}})"})
    conn.data["name"] = name


@sio.on("join")
def join(conn, room):
    conn.join(room)
    conn.to(room).emit("joined", {"room": room, "name": conn.data["name"]})
    return sorted(conn.rooms - {conn.id})


@sio.on("say")
def say(conn, room, text):
    sio.to(room).emit("said", {"room": room, "name": conn.data["name"], "text": text})


@sio.on("who")
def who(conn, room):
    """Everyone in the room, on every server of the cluster."""
    return sorted(s.data.get("name", "?") for s in sio.in_(room).fetch_sockets())


if __name__ == "__main__":
    print(f"chat server on http://127.0.0.1:{options.port}, cluster on {options.redis}")
    sio.serve("127.0.0.1", options.port)
