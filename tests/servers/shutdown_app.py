"""The server of the graceful-shutdown tests, run as ``python -m gsio serve shutdown_app:sio``
(from ``tests/servers``). It prints a line per connect and per disconnect (with the reason) to
stdout; its disconnect handler takes a moment, which the shutdown must wait for.

- ``burst(n)``: emits ``item`` 0 .. n-1, then acks ``"queued"``;
- ``echo(*args)``: prints ``ECHO`` and the arguments, acks with them.
"""

import os

import gevent

import gsio


def say(*words):
    # One write(2) per line: gunicorn's workers share the pipe.
    os.write(1, (" ".join(map(str, words)) + "\n").encode())


say("LOADED", os.getpid())

sio = gsio.Server(ping_interval=5, ping_timeout=5)


@sio.on("connect")
def connect(conn):
    say("CONNECT", conn.id, conn.client.transport.transport)


@sio.on("disconnect")
def disconnect(conn, reason):
    gevent.sleep(0.2)
    say("DISCONNECT", conn.id, reason)


@sio.on("burst")
def burst(conn, n):
    for i in range(n):
        conn.emit("item", i)
    return "queued"


@sio.on("echo")
def echo(conn, *args):
    say("ECHO", *args)
    return args
app = gsio.WSGIApp(sio)  # for gunicorn
