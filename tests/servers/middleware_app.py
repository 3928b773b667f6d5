"""A Socket.IO server with engine middlewares (``sio.engine.use``), for
tests/engine/test_middleware.py.

- ``count`` records each request it sees (``[method, transport, sid or None]``) in
  ``GET /log`` (served beside the engine: no middleware runs for it).
- ``auth`` refuses a request without ``token=good`` in its query (401, with a
  ``WWW-Authenticate`` header), one with ``bug=1`` raises (a bug: 500), and every request once
  ``revoke`` was emitted (403 "Revoked"); it puts ``app.user`` in the environ.
- ``/``: on connect, emits ``user`` with ``conn.environ["app.user"]``; ``revoke`` acks and
  refuses every later request; ``echo`` acks its arguments.
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
import json  # noqa: E402
from urllib.parse import parse_qs  # noqa: E402

import gsio  # noqa: E402

LOG: dict = {"requests": [], "revoked": False}


def build(args):
    sio = gsio.Server(async_mode="threading" if args.kind == "werkzeug" else None)

    @sio.engine.use
    def count(environ):
        query = parse_qs(environ.get("QUERY_STRING", ""))
        sid = query.get("sid", [None])[0]
        LOG["requests"].append([environ["REQUEST_METHOD"], query.get("transport", [""])[0], sid])

    def auth(environ):
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if query.get("bug") == ["1"]:
            raise RuntimeError("middleware bug")
        if query.get("token") != ["good"]:
            raise gsio.RequestRefused(
                "Unauthorized", status=401, headers=[("WWW-Authenticate", 'Bearer realm="gsio"')]
            )
        if LOG["revoked"]:
            raise gsio.RequestRefused("Revoked")
        environ["app.user"] = "alice"

    sio.engine.use(auth)

    @sio.on("connect")
    def connect(conn):
        conn.emit("user", conn.environ.get("app.user"))

    @sio.on("revoke")
    def revoke(conn):
        LOG["revoked"] = True
        return True

    @sio.on("echo")
    def echo(conn, *args):
        return args

    return sio


def log_app(environ, start_response):
    body = json.dumps(LOG).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    args = parser.parse_args()
    common.setup_logging()
    app = gsio.WSGIApp(build(args), log_app)
    common.serve_app(app, args.kind, args.port, args.header_timeout)


if __name__ == "__main__":
    main()
