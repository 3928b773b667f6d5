"""The server of the graceful-shutdown tests, run as ``python -m gsio serve shutdown_app:sio``
(from ``tests/servers``). It prints a line per connect and per disconnect (with the reason) to
stdout; its disconnect handler takes a moment, which the shutdown must wait for.

- ``burst(n)``: emits ``item`` 0 .. n-1, then acks ``"queued"``;
- ``echo(*args)``: acks with the arguments.
"""

import os

import gevent

import gsio

print("LOADED", os.getpid(), flush=True)

sio = gsio.Server(ping_interval=5, ping_timeout=5)


@sio.on("connect")
def connect(conn):
    print("CONNECT", conn.id, conn.client.esock.transport, flush=True)


@sio.on("disconnect")
def disconnect(conn, reason):
    gevent.sleep(0.2)
    print("DISCONNECT", conn.id, reason, flush=True)


@sio.on("burst")
def burst(conn, n):
    for i in range(n):
        conn.emit("item", i)
    return "queued"


@sio.on("echo")
def echo(conn, *args):
    return args
app = gsio.WSGIApp(sio)  # for gunicorn
