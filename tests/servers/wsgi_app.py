"""A plain WSGI app (no gsio in it) served by gsio.serve, for the tests of gsio's pywsgi handler.

- ``/list``: ``[b"ab", b"cd"]``; ``/gen``: a generator (no length: chunked); ``/write``: the
  ``write()`` callable, then ``[]``; ``/empty``: ``[]``; ``/204``: 204 and no body;
  ``/204-body``: 204 with a body (an application error); ``/length``: a Content-Length of its own;
- ``/environ``: the request's ``HTTP_*``, ``CONTENT_*``, ``PATH_INFO``, ``QUERY_STRING`` and
  ``REQUEST_METHOD`` as JSON;
- ``/body``: the request body, read whole.
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
import json  # noqa: E402


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/list":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ab", b"cd"]
    if path == "/gen":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (chunk for chunk in (b"ab", b"", b"cd"))
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written,")
        write(b"twice")
        return []
    if path == "/empty":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return []
    if path == "/204":
        start_response("204 No Content", [])
        return []
    if path == "/204-body":
        start_response("204 No Content", [])
        return [b"not allowed"]
    if path == "/length":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"abcd"]
    if path == "/environ":
        keys = ("PATH_INFO", "QUERY_STRING", "REQUEST_METHOD", "CONTENT_TYPE", "CONTENT_LENGTH")
        seen = {k: v for k, v in environ.items() if k.startswith("HTTP_") or k in keys}
        body = json.dumps(seen).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path == "/body":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [body]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such page"]


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    args = parser.parse_args()
    common.setup_logging()
    common.serve_app(app, args.kind, args.port)


if __name__ == "__main__":
    main()
