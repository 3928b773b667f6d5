"""The app of tests/test_workers.py: ``python -m gunicorn -k gsio.gunicorn.GeventWorker -w 4
workers_app:app`` (from ``tests/servers``). A broadcast reaches every worker's clients: with
the Redis adapter on ``$GSIO_TEST_REDIS``, or without it, through the in-host adapter the
worker gives a server that has the default one. With ``$GSIO_TEST_STREAMS``: the Redis
Streams adapter there, and connection state recovery on.

Events: ``echo(*args)`` acks with its arguments and the worker's pid; ``shout(token)``
broadcasts ``news(token)`` to every client and acks; ``pid`` acks with the worker's pid.
``join(room)`` joins it; ``tell(room, token)`` sends ``news(token)`` to the room.
``hold(seconds)`` blocks the worker a moment; ``servers`` acks with how many workers ``/``'s adapter counts. ``GET /pid`` answers the pid of the worker that served it. With ``$GSIO_TEST_FLASK`` set, ``app``
is a Flask app with gsio in front of it (:func:`gsio.flask.init_app`).
"""

import logging
import os
import sys

import gsio

logging.basicConfig(
    level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
)

adapter = None
if os.environ.get("GSIO_TEST_REDIS"):
    adapter = gsio.create_redis_adapter(os.environ["GSIO_TEST_REDIS"])
if os.environ.get("GSIO_TEST_STREAMS"):  # the Redis Streams adapter, with recovery on
    adapter = gsio.create_redis_streams_adapter(os.environ["GSIO_TEST_STREAMS"])
# $GSIO_TEST_PING: another ping interval (a long one: no ping during a test)
ping = float(os.environ.get("GSIO_TEST_PING", "5"))
sio = gsio.Server(
    adapter=adapter,
    ping_interval=ping,
    ping_timeout=5,
    connection_state_recovery=True if os.environ.get("GSIO_TEST_STREAMS") else None,
)


@sio.on("echo")
def echo(conn, *args):
    return args


@sio.on("shout")
def shout(conn, token):
    sio.emit("news", token)
    return True


@sio.on("join")
def join(conn, room):
    conn.join(room)
    return True


@sio.on("tell")
def tell(conn, room, token):
    sio.to(room).emit("news", token)
    return True


@sio.on("pid")
def pid(conn):
    return os.getpid()


@sio.on("hold")
def hold(conn, seconds):
    """Block this worker process (not a greenlet: the process) for ``seconds``, from a moment
    after the ack: meanwhile the kernel gives new connections to the other workers."""
    import gevent
    from gevent import monkey

    gevent.spawn_later(0.05, monkey.get_original("time", "sleep"), seconds)
    return True


@sio.on("servers")
def servers(conn):
    return sio.of("/").adapter.server_count()


def other(environ, start_response):
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


if os.environ.get("GSIO_TEST_FLASK"):  # gsio in front of a Flask app (gsio.flask.init_app)
    import flask

    import gsio.flask

    app = flask.Flask(__name__)

    @app.route("/pid")
    def flask_pid():
        return str(os.getpid())

    gsio.flask.init_app(app, sio)
else:
    app = gsio.WSGIApp(sio, other)
