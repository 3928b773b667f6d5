"""A Server that serves the client bundle, for tests/test_client_bundle.py.

``--serve-client DIR`` (the files' directory; ``off``: ``serve_client=False``; absent: the
default, True, which looks in ``$GSIO_CLIENT_DIST`` and the cache), ``--cors ORIGIN``.
Beside it a WSGI app answers every other path with ``fallback <path>`` (text/plain), and
``/page`` with a page that loads ``/socket.io/socket.io.min.js`` from the server and connects.
The default namespace acks ``echo`` with its arguments.
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402

import gsio  # noqa: E402

PAGE = b"""<!doctype html>
<meta charset="utf-8">
<title>bundle test</title>
<script src="/socket.io/socket.io.min.js"></script>
<script>
window.result = new Promise((resolve) => {
  const socket = io();
  socket.on("connect", async () => {
    const echo = await socket.emitWithAck("echo", "from the page");
    resolve({ id: socket.id, echo });
  });
  socket.on("connect_error", (err) => resolve({ error: String(err) }));
});
</script>
"""


def site(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/page":
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [PAGE]
    body = f"fallback {path}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    parser.add_argument("--serve-client", default=None)
    parser.add_argument("--cors", default=None)
    args = parser.parse_args()
    common.setup_logging()
    serve_client = True
    if args.serve_client == "off":
        serve_client = False
    elif args.serve_client is not None:
        serve_client = args.serve_client
    sio = gsio.Server(serve_client=serve_client, cors_allowed_origins=args.cors)

    @sio.on("echo")
    def echo(conn, *args):
        return args

    common.serve_app(gsio.WSGIApp(sio, site), args.kind, args.port, args.header_timeout)


if __name__ == "__main__":
    main()
