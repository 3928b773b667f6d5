"""The Socket.IO server of the example: one chat room; the name comes in the auth payload."""

import gsio

sio = gsio.Server()


@sio.on("connect")
def connect(conn, auth):
    name = str(auth.get("name") or "").strip()[:40]
    if not name:
        raise gsio.ConnectionRefused("a name is needed")
    conn.data["name"] = name
    conn.join("lobby")
    conn.emit("welcome", {"name": name, "mode": sio.concurrency.name})
    conn.to("lobby").emit("joined", name)


@sio.on("say")
def say(conn, text):
    sio.to("lobby").emit("said", {"name": conn.data["name"], "text": text})
    return "ok"


@sio.on("echo")
def echo(conn, *args):
    return args


@sio.on("disconnect")
def disconnect(conn, reason):
    sio.to("lobby").emit("left", conn.data.get("name"))
