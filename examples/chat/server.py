"""A chat in the browser: gsio serves the page, its script and the official client on one port.

Run (from a checkout, after ``python -m pip install -e .``)::

    npm ci --prefix tests/js          # once: fetches socket.io-client into tests/js/node_modules
    python examples/chat/server.py    # then open http://127.0.0.1:5000/ in two browser tabs

Options: ``--host`` (127.0.0.1), ``--port`` (5000; 0 picks a free one). The page picks its
transports from the query string: ``/?transport=websocket`` or ``/?transport=polling``;
without it, the client's default (polling, then the upgrade to WebSocket).

The page loads the browser bundle of the npm package ``socket.io-client`` from this server at
``/socket.io.min.js``; it is not part of this repository. The server reads it from the
directory named by the environment variable ``GSIO_CLIENT_DIST`` (the package's ``dist``
directory, or a directory holding ``node_modules/socket.io-client``), by default
``tests/js/node_modules/socket.io-client/dist`` in this checkout. Without it the page shows
how to install it.

Events: ``join(name)`` enters the chat (the ack is ``{"ok": true, "name": ...}``),
``say(text)`` sends a message to everyone who joined; the server emits ``joined``, ``said``
and ``left``.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402

import gsio  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_DIST = HERE.parent.parent / "tests" / "js" / "node_modules" / "socket.io-client" / "dist"
BUNDLE = "socket.io.min.js"
ROOM = "chat"
MAX_NAME, MAX_TEXT = 40, 2000

sio = gsio.Server()


@sio.on("join")
def join(conn, name):
    name = str(name or "").strip()[:MAX_NAME]
    if not name:
        return {"ok": False, "error": "a name is required"}
    again = conn.data.get("name")
    conn.data["name"] = name
    conn.join(ROOM)
    if again != name:
        sio.to(ROOM).emit("joined", {"name": name})
        print(f"{name} joined", flush=True)
    return {"ok": True, "name": name}


@sio.on("say")
def say(conn, text):
    name = conn.data.get("name")
    if name is None:
        return {"ok": False, "error": "join first"}
    text = str(text)[:MAX_TEXT]
    sio.to(ROOM).emit("said", {"name": name, "text": text})  # the sender sees it too
    return {"ok": True}


@sio.on("disconnect")
def disconnect(conn, reason):
    name = conn.data.get("name")
    if name is not None:
        sio.to(ROOM).emit("left", {"name": name})
        print(f"{name} left ({reason})", flush=True)


# -- the static site: the page, its script, and the client bundle -----------------------------

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/chat.js": ("chat.js", "text/javascript; charset=utf-8"),
}


def client_dist() -> Path:
    """The directory that should hold ``socket.io.min.js``."""
    configured = os.environ.get("GSIO_CLIENT_DIST")
    if not configured:
        return DEFAULT_DIST
    path = Path(configured).expanduser().resolve()
    nested = path / "node_modules" / "socket.io-client" / "dist"
    return nested if not (path / BUNDLE).exists() and nested.is_dir() else path


def missing_bundle_message(dist: Path) -> str:
    return (
        f"The Socket.IO client bundle is missing: no {BUNDLE} in {dist}.\n"
        "Install it from the gsio checkout with:  npm ci --prefix tests/js\n"
        "or point GSIO_CLIENT_DIST at the dist directory of an installed socket.io-client,"
        " then reload this page."
    )


def site(environ, start_response):
    """Every request that is not Socket.IO's (``gsio.WSGIApp`` hands them here)."""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "") or "/"
    if method not in ("GET", "HEAD"):
        return respond(start_response, "405 Method Not Allowed", "text/plain", b"GET only\n")
    if path in STATIC:
        name, content_type = STATIC[path]
        return respond(start_response, "200 OK", content_type, (HERE / name).read_bytes())
    if path in ("/" + BUNDLE, "/" + BUNDLE + ".map"):
        dist = client_dist()
        try:
            body = (dist / path.lstrip("/")).read_bytes()
        except FileNotFoundError:
            message = missing_bundle_message(dist).encode()
            return respond(start_response, "404 Not Found", "text/plain; charset=utf-8", message)
        content_type = "application/json" if path.endswith(".map") else "text/javascript"
        return respond(start_response, "200 OK", content_type + "; charset=utf-8", body)
    return respond(start_response, "404 Not Found", "text/plain", b"Not Found\n")


def respond(start_response, status, content_type, body):
    start_response(
        status,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
        ],
    )
    return [body]


app = gsio.WSGIApp(sio, site)


def main(argv=None):
    parser = argparse.ArgumentParser(description="A browser chat served by gsio.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="5000; 0 picks a free port")
    args = parser.parse_args(argv)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    listener = socket.create_server((args.host, args.port), family=family, backlog=1024)
    host, port = listener.getsockname()[:2]
    dist = client_dist()
    if not (dist / BUNDLE).exists():
        print("warning: " + missing_bundle_message(dist), file=sys.stderr, flush=True)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"chat on http://{shown}:{port}/  (Ctrl-C stops it)", flush=True)
    gevent.get_hub().NOT_ERROR += (KeyboardInterrupt,)  # Ctrl-C: no report from gevent's hub
    try:
        gsio.serve(app, listener=listener)  # the connections wait in the backlog until now
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
