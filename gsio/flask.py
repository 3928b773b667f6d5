"""Socket.IO beside a Flask app, with Flask's contexts in every handler.

::

    from flask import Flask, session
    import gsio
    from gsio.flask import init_app

    app = Flask(__name__)
    sio = gsio.Server()
    init_app(app, sio)            # Socket.IO on /socket.io/, Flask on every other path

    @sio.on("connect")
    def connect(conn, auth):
        if "user" not in session:         # the Flask session of the handshake's cookie
            raise gsio.ConnectionRefused("log in first")

Then serve ``app`` as any Flask app: ``flask --app module run`` (werkzeug's threaded server:
gsio in threading mode), ``gsio serve module:app`` (gevent), or gunicorn.

Each connection's handlers (middleware, ``connect``, events, ``disconnect``, a blocking handler)
run inside an application context of ``app`` and a request context built from the
connection's handshake request (``conn.environ``), so they can use:

- ``current_app`` and ``g`` (one ``g`` per connection, for its whole life);
- ``request.headers``, ``request.cookies``, ``request.args``, ``request.remote_addr``,
  ``request.path`` (``/socket.io/``): those of the handshake (the first HTTP request);
- ``session``: the Flask session that came with the handshake's cookie, read-only in effect
  (there is no response to carry a changed cookie back);
- ``url_for``.

There is no request body (``request.get_data()`` is empty), and greenlets or threads a handler
spawns itself do not inherit the contexts. A ``context`` the server had already is kept, and
runs inside Flask's contexts.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gsio.engine.wsgi import WSGIApp

__all__ = ["init_app"]


def init_app(app: Any, sio: Any) -> WSGIApp:
    """Serve ``sio`` on its path in front of the Flask ``app`` and run its handlers in
    ``app``'s contexts. Returns the new ``app.wsgi_app``."""
    app.wsgi_app = WSGIApp(sio, app.wsgi_app)
    inner = sio.context

    @contextmanager
    def flask_context(conn: Any) -> Iterator[None]:
        environ = dict(conn.environ)
        # The handshake's body was read long ago (and its socket may serve another request).
        environ["wsgi.input"] = io.BytesIO(b"")
        environ["CONTENT_LENGTH"] = "0"
        with app.app_context(), app.request_context(environ):
            if inner is None:
                yield
            else:
                with inner(conn):
                    yield

    sio.context = flask_context
    return app.wsgi_app
