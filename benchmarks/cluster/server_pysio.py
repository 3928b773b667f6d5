"""python-socketio with its RedisManager, on gevent's pywsgi + gevent-websocket, for the
cross-process benchmark (same event as server_gsio.py). Runs in the shared bench's venv.

    python server_pysio.py PORT REDIS_URL
"""

import sys

from gevent import monkey

monkey.patch_all()

import socketio  # noqa: E402
from gevent import pywsgi  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402

port, url = int(sys.argv[1]), sys.argv[2]
sio = socketio.Server(async_mode="gevent", client_manager=socketio.RedisManager(url))


@sio.on("broadcast")
def broadcast(sid, count, payload):
    for _ in range(count):
        sio.emit("msg", payload)
    return count


app = socketio.WSGIApp(sio)
pywsgi.WSGIServer(("127.0.0.1", port), app, handler_class=WebSocketHandler, log=None).serve_forever()
