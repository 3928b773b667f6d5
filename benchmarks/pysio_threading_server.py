"""Reference: python-socketio 5.x in its threading mode (no gevent), on werkzeug's threaded
server, WebSocket through simple-websocket: the shared harness's server contract
(../shared/bench/README.md), beside ``contract_server.py --threading`` (gsio without gevent).

    PYTHON benchmarks/pysio_threading_server.py PORT
    PYTHON -m gunicorn -k gthread --threads 250 -w 1 --chdir benchmarks pysio_threading_server:app

werkzeug's server closes every connection after its response (the harness's long-polling
client needs keep-alive): for the polling scenario, gunicorn's gthread worker.

PYTHON needs python-socketio, werkzeug and simple-websocket (e.g. a venv made with
``--system-site-packages`` where werkzeug is, plus ``pip install python-socketio``).
"""

import logging
import os
import sys

import socketio
from werkzeug.serving import WSGIRequestHandler, make_server

sio = socketio.Server(
    async_mode="threading",
    ping_interval=25,
    ping_timeout=20,
    transports=["polling", "websocket"],
    cors_allowed_origins="*",
)
app = socketio.WSGIApp(sio, socketio_path="socket.io")


class KeepAlive(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # (1.0 by default: a connection per poll)


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
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=KeepAlive)
    server.serve_forever()
