"""gsio implementing the shared benchmark harness's server contract (../shared/bench/README.md).

Usage: python benchmarks/contract_server.py PORT [--simple-websocket]

--simple-websocket serves WebSocket with simple-websocket on plain pywsgi instead of
gevent-websocket's handler (to compare the two backends).
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
    gsio.serve(sio, "127.0.0.1", port, websocket="--simple-websocket" not in sys.argv)
