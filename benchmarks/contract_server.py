"""gsio implementing the shared benchmark harness's server contract (../shared/bench/README.md).

Usage: python benchmarks/contract_server.py PORT [--gevent-websocket | --simple-websocket]

By default WebSocket is served as ``gsio.serve`` serves it: gsio's own handler and frame layer.
--gevent-websocket serves it with gevent-websocket's handler, --simple-websocket with
simple-websocket on plain pywsgi (to compare the backends).
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402

import gsio  # noqa: E402

sio = gsio.Server(ping_interval=25, ping_timeout=20)


@sio.on("echo")
def echo(conn, *args):
    return args


@sio.on("broadcast")
def broadcast(conn, count, payload):
    for _ in range(count):
        sio.emit("msg", payload)
    return count


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    port = int(args[0] if args else os.environ["PORT"])
    websocket = True
    if "--gevent-websocket" in sys.argv:
        websocket = "gevent-websocket"
    elif "--simple-websocket" in sys.argv:
        websocket = False
    gsio.serve(sio, "127.0.0.1", port, websocket=websocket)
