"""Chat rooms with event handlers.

Run:  python examples/chat.py   (clients: emit "join" with a room, then "say" with text)
"""

from gevent import monkey

monkey.patch_all()

import gsio  # noqa: E402

sio = gsio.Server()


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
    return sorted(conn.rooms - {conn.id})  # the ack: the rooms this client is in


@sio.on("say")
def say(conn, room, text):
    sio.to(room).emit("said", {"room": room, "name": conn.data["name"], "text": text})


@sio.on("disconnect")
def disconnect(conn, reason):
    print(f"{conn.data.get('name')} left ({reason})")


if __name__ == "__main__":
    print("chat server on http://127.0.0.1:5000")
    sio.serve("127.0.0.1", 5000)
