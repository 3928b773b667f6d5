"""A Flask app with Socket.IO through ``gsio.flask.init_app``, for tests/test_flask.py.

Flask routes: ``GET /login?user=NAME`` puts ``user`` in the Flask session (the cookie comes
back in ``Set-Cookie``); ``GET /hello`` answers ``hello from <app name>``.

Socket.IO (default namespace): ``connect`` emits ``ctx`` with what the handler sees of Flask;
``whoami`` acks with the same, taken again in the event handler (``g.events`` counts the events
of this connection: one ``g`` per connection). Flask's view of the handshake: ``app``
(``current_app.name``), ``header`` (``X-Deploy-Test``), ``cookie`` (the ``plain`` cookie),
``user`` (``session["user"]``), ``path`` (``request.path``), ``eio`` (``request.args["EIO"]``),
``url`` (``url_for("hello")``), ``own`` (set in ``g`` by the server's own ``context``, which
``init_app`` keeps), ``mode`` (gevent or threading).
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from flask import Flask, current_app, g, request, session, url_for  # noqa: E402

import gsio  # noqa: E402
from gsio.flask import init_app  # noqa: E402


@contextmanager
def own_context(conn):
    """The server's own context, kept by init_app and run inside Flask's."""
    g.own = f"own context of {conn.namespace.name}"
    yield


app = Flask("deploy_flask_test")
app.secret_key = "test secret, not for production"
sio = gsio.Server(context=own_context)
init_app(app, sio)


@app.route("/login")
def login():
    session["user"] = request.args["user"]
    return "logged in"


@app.route("/hello")
def hello():
    return f"hello from {current_app.name}"


def flask_view():
    g.events = g.get("events", 0) + 1
    return {
        "app": current_app.name,
        "header": request.headers.get("X-Deploy-Test"),
        "cookie": request.cookies.get("plain"),
        "user": session.get("user"),
        "path": request.path,
        "eio": request.args.get("EIO"),
        "url": url_for("hello"),
        "own": g.get("own"),
        "events": g.events,
        "mode": sio.concurrency.name,
    }


@sio.on("connect")
def connect(conn, auth):
    conn.emit("ctx", flask_view())


@sio.on("whoami")
def whoami(conn):
    return flask_view()


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    args = parser.parse_args()
    common.setup_logging()
    common.serve_app(app, args.kind, args.port)


if __name__ == "__main__":
    main()
