"""A Socket.IO server with per-message deflate on, for tests/test_deflate.py.

As a script: ``deflate_app.py --kind <kind> --port 0 [--deflate JSON]`` (``--deflate`` is
``per_message_deflate``: ``true`` by default, ``false``, or a JSON object of its options). As
gunicorn's app: ``deflate_app:app`` (from ``tests/servers``), with the defaults.

Events (each acks once done):

- ``echo(*args)``: acks with its arguments;
- ``size(data)``: acks with ``len(data)`` (characters of a string, bytes of a binary);
- ``big(n, plain)``: emits ``big`` with ``"x" * n`` to the sender, ``conn.compress(False)``
  when ``plain``;
- ``bcast(n, plain)``: ``sio.emit("big", "b" * n)`` to everyone (``sio.compress(False)`` when
  ``plain``); ``binary(n)``: emits ``bin`` with ``n`` bytes.

``GET /mem``: ``{"rss": kB, "hwm": kB}``, the process's resident and peak resident memory.
"""

import common

KIND = common.patch_for_kind() if __name__ == "__main__" else None

import argparse  # noqa: E402
import json  # noqa: E402

import gsio  # noqa: E402


def build(per_message_deflate=True):
    sio = gsio.Server(per_message_deflate=per_message_deflate)

    @sio.on("echo")
    def echo(conn, *args):
        return list(args)

    @sio.on("size")
    def size(conn, data):
        return len(data)

    @sio.on("big")
    def big(conn, n, plain=False):
        (conn.compress(False) if plain else conn).emit("big", "x" * n)
        return "sent"

    @sio.on("bcast")
    def bcast(conn, n, plain=False):
        sio.compress(not plain).emit("big", "b" * n)
        return "sent"

    @sio.on("binary")
    def binary(conn, n):
        conn.emit("bin", bytes(range(256)) * (n // 256) + bytes(n % 256))
        return "sent"

    return sio


def mem_app(environ, start_response):
    if environ["PATH_INFO"] != "/mem":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]
    status = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                status[name] = int(value.split()[0])
    body = json.dumps({"rss": status["VmRSS"], "hwm": status["VmHWM"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    parser.add_argument("--deflate", default="true", help="per_message_deflate, as JSON")
    args = parser.parse_args()
    common.setup_logging()
    app = gsio.WSGIApp(build(json.loads(args.deflate)), mem_app)
    common.serve_app(app, args.kind, args.port, args.header_timeout)


if __name__ == "__main__":
    main()
else:
    app = gsio.WSGIApp(build(), mem_app)
