"""A Socket.IO server with Prometheus metrics (``gsio.metrics.instrument``) on ``GET /metrics``,
for tests/test_metrics.py and tests/js/sio_metrics.js. Also gunicorn's app:
``gunicorn -k gsio.gunicorn.GeventWorker -w 2 metrics_app:app`` (from ``tests/servers``, with
``PROMETHEUS_MULTIPROC_DIR`` set: multiprocess mode).

Namespaces ``/`` and ``/chat``, the same events on both: ``echo(*args)`` acks its arguments
and the worker's pid; ``shout(text)`` broadcasts ``news(text)`` to the namespace and acks;
``pend(event)`` emits ``event`` expecting an ack (without a timeout) and acks; ``ask(seconds,
event)`` emits ``event`` with ``conn.timeout(seconds)`` and acks once the callback ran, with
the error's class name; ``block(seconds)`` blocks the whole process (not a greenlet) for that
long, as a handler that blocks the event loop would, then acks. ``GET /pid``: the worker's
pid; ``GET /shout``: a broadcast of ``news`` to ``/`` (through the adapter).

``--redis URL`` / ``--streams URL``: the Redis (Streams) adapter there. ``$GSIO_TEST_REDIS``
does the same under gunicorn, ``$GSIO_TEST_METRICS_INTERVAL`` sets the copy interval.
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
import os  # noqa: E402

import gsio  # noqa: E402
import gsio.metrics  # noqa: E402


def build(adapter=None):
    sio = gsio.Server(
        adapter=adapter,
        ping_interval=float(os.environ.get("GSIO_TEST_PING", "25")),
        async_mode="threading" if KIND == "werkzeug" else None,
    )
    for name in ("/", "/chat"):
        handlers(sio, sio.of(name))
    interval = float(os.environ.get("GSIO_TEST_METRICS_INTERVAL", "5"))
    return sio, gsio.metrics.instrument(sio, interval=interval)


def handlers(sio, namespace):
    @namespace.on("echo")
    def echo(conn, *args):
        return [*args, os.getpid()]

    @namespace.on("shout")
    def shout(conn, text):
        namespace.emit("news", text)
        return True

    @namespace.on("pend")
    def pend(conn, event):
        conn.emit(event, callback=lambda *args: None)
        return True

    @namespace.on("ask")
    def ask(conn, seconds, event, ack):
        def answered(err, *answer):
            ack(None if err is None else type(err).__name__)

        conn.timeout(seconds).emit(event, callback=answered)

    @namespace.on("block")
    def block(conn, seconds):
        import time

        sleep = time.sleep
        if KIND != "werkzeug":
            from gevent import monkey

            sleep = monkey.get_original("time", "sleep")
        sleep(seconds)
        return True


def other_app(sio):
    def serve(environ, start_response):
        if environ.get("PATH_INFO") == "/shout":
            sio.emit("news", "shouted")
        body = str(os.getpid()).encode()
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers)
        return [body]

    return serve


def make_app(adapter=None):
    sio, metrics = build(adapter)
    return gsio.WSGIApp(sio, metrics.wsgi_app(other_app(sio))), sio


if os.environ.get("GSIO_TEST_GUNICORN"):  # imported by gunicorn
    redis_url = os.environ.get("GSIO_TEST_REDIS")
    app, _ = make_app(gsio.create_redis_adapter(redis_url) if redis_url else None)


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    parser.add_argument("--redis")
    parser.add_argument("--streams")
    args = parser.parse_args()
    common.setup_logging()
    adapter = None
    if args.redis:
        adapter = gsio.create_redis_adapter(args.redis)
    elif args.streams:
        adapter = gsio.create_redis_streams_adapter(args.streams)
    app, _ = make_app(adapter)
    common.serve_app(app, args.kind, args.port, args.header_timeout)


if __name__ == "__main__":
    main()
