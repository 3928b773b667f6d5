"""gsio in a Redis cluster for the cross-process benchmark: ``broadcast(count, payload)`` emits
``msg`` ``count`` times to every socket of the cluster, then acks ``count``; ``join(room)``
joins a room (acks), ``to_room(room, seq)`` emits ``lat`` ``seq`` to the room (latency mode).

    python server_gsio.py PORT REDIS_URL [pubsub|streams]
    python server_gsio.py PORT DIRECTORY host     (the in-host adapter: no Redis)
"""

import sys

from gevent import monkey

monkey.patch_all()

import gsio  # noqa: E402

port, url = int(sys.argv[1]), sys.argv[2]
kind = sys.argv[3] if len(sys.argv) > 3 else "pubsub"
if kind == "host":
    adapter = gsio.create_host_adapter(url)
elif kind == "streams":
    adapter = gsio.create_redis_streams_adapter(url)
else:
    adapter = gsio.create_redis_adapter(url)
sio = gsio.Server(adapter=adapter)


@sio.on("broadcast")
def broadcast(conn, count, payload):
    for _ in range(count):
        sio.emit("msg", payload)
    return count


@sio.on("join")
def join(conn, room):
    conn.join(room)
    return room


@sio.on("to_room")
def to_room(conn, room, seq):
    sio.to(room).emit("lat", seq)


gsio.serve(sio, "127.0.0.1", port)
