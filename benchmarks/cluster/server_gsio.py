"""gsio in a Redis cluster for the cross-process benchmark: ``broadcast(count, payload)`` emits
``msg`` ``count`` times to every socket of the cluster, then acks ``count``.

    python server_gsio.py PORT REDIS_URL
"""

import sys

from gevent import monkey

monkey.patch_all()

import gsio  # noqa: E402

port, url = int(sys.argv[1]), sys.argv[2]
sio = gsio.Server(adapter=gsio.create_redis_adapter(url))


@sio.on("broadcast")
def broadcast(conn, count, payload):
    for _ in range(count):
        sio.emit("msg", payload)
    return count


gsio.serve(sio, "127.0.0.1", port)
