"""observe_app's server without an observer of its own, for tests/test_debug_output.py: what
``DEBUG=gsio*`` prints. Beside observe_app's namespaces, ``/private`` refuses every connection
in a middleware ("not for you"), Engine.IO v3 clients are served too; ``GET /observers`` answers the names of the server's
observers' classes (``{"observers": [...]}``)."""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
import json  # noqa: E402

import observe_app  # noqa: E402

import gsio  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    args = parser.parse_args()
    common.setup_logging()
    args.unobserved, args.raising, args.headers = True, False, False
    sio = observe_app.build(args)
    sio.engine.allow_eio3 = True

    @sio.of("/private").use
    def refuse(conn):
        raise gsio.ConnectionRefused("not for you")

    def info_app(environ, start_response):
        if environ.get("PATH_INFO") != "/observers":
            return observe_app.log_app(environ, start_response)
        names = [type(o).__name__ for o in sio.observers.observers]
        body = json.dumps({"observers": names}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    common.serve_app(gsio.WSGIApp(sio, info_app), args.kind, args.port, args.header_timeout)


if __name__ == "__main__":
    main()
