"""Reference: python-socketio 5.x in its threading mode (no gevent), on werkzeug's threaded
server, WebSocket through simple-websocket: the shared harness's server contract
(../shared/bench/README.md), beside ``contract_server.py --threading`` (gsio without gevent).

    PYTHON benchmarks/pysio_threading_server.py PORT

PYTHON needs python-socketio, werkzeug and simple-websocket (e.g. a venv made with
``--system-site-packages`` where werkzeug is, plus ``pip install python-socketio``).
"""

import logging
import os
import sys

import socketio
from werkzeug.serving import make_server

sio = socketio.Server(
    async_mode="threading",
    ping_interval=25,
    ping_timeout=20,
    transports=["polling", "websocket"],
    cors_allowed_origins="*",
)
app = socketio.WSGIApp(sio, socketio_path="socket.io")


@sio.on("echo")
def echo(sid, *args):
    # A tuple return value is sent as multiple ack arguments: ack back exactly the args.
    return args


@sio.on("broadcast")
def broadcast(sid, count, payload):
    for _ in range(int(count)):
        sio.emit("msg", payload)
    return count


if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    port = int(args[0] if args else os.environ["PORT"])
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()
