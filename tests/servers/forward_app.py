"""The app of tests/test_forwarding.py: one gsio server of a cluster on ``$GSIO_TEST_REDIS``
(``$GSIO_TEST_STREAMS`` set: the Redis Streams adapter), behind a load balancer without sticky
sessions: requests for another server's sessions are forwarded to it through Redis (those of
socket.io-client 2.x too: ``allow_eio3``). Run with
``gunicorn -k gsio.gunicorn.GeventWorker -w 1 forward_app:app``.

Events: ``echo(*args)`` acks with its arguments; ``shout(token)`` broadcasts ``news(token)``
to every client and acks; ``pid`` acks with the server's pid. ``GET /pid`` answers it too.
"""

import logging
import os
import sys

import gsio

logging.basicConfig(
    level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
)
logging.getLogger("gsio.access").setLevel(logging.WARNING)

url = os.environ["GSIO_TEST_REDIS"]
if os.environ.get("GSIO_TEST_STREAMS"):
    adapter = gsio.create_redis_streams_adapter(url)
else:
    adapter = gsio.create_redis_adapter(
        url, forward_requests=not os.environ.get("GSIO_TEST_NO_FORWARDING")
    )
sio = gsio.Server(adapter=adapter, ping_interval=5, ping_timeout=5, allow_eio3=True)


@sio.on("echo")
def echo(conn, *args):
    return args


@sio.on("shout")
def shout(conn, token):
    sio.emit("news", token)
    return True


@sio.on("pid")
def pid(conn):
    return os.getpid()


def other(environ, start_response):
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


app = gsio.WSGIApp(sio, other)
