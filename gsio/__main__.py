"""The ``gsio`` command: ``gsio serve module:attr``, ``gsio demo`` and ``gsio client fetch``.

gevent's monkey-patching happens here, before the user's module is imported, as gunicorn's
gevent worker does it: blocking code in handlers then yields instead of stalling the server.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gsio.engine.wsgi import WSGIApp


def _demo_app() -> WSGIApp:
    from gsio.demo import demo_app

    return demo_app()


def _client(args: argparse.Namespace) -> int:
    """``gsio client fetch``: the client bundle from the npm registry, its integrity checked."""
    from gsio.io.npm import fetch
    from gsio.protocol.bundle import BundleError

    try:
        target = fetch(args.dir, version=args.version, registry_url=args.registry)
    except BundleError as exc:
        print(f"gsio client fetch: error: {exc}", file=sys.stderr)
        return 1
    print(f"fetched socket.io-client {args.version} (integrity checked) into {target}")
    return 0


class _Failed(Exception):
    """One line for stderr, and the exit status: 2 for a bad argument, 1 otherwise."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _load(target: str) -> object:
    """The object ``module:attr`` names (``attr`` may be dotted), checked to be servable."""
    import importlib
    import traceback

    module_name, colon, attr = target.partition(":")
    if not colon or not module_name or not attr:
        raise _Failed(f"expected module:attribute (e.g. app:sio), not {target!r}", 2)
    sys.path.insert(0, ".")
    try:
        obj: object = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name + ".").startswith(exc.name + "."):
            raise _Failed(f"no module named {exc.name!r} (from {target!r})", 2) from None
        raise _Failed(f"importing {module_name!r} failed: {_describe(exc)}") from None
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        at = "" if isinstance(exc, SyntaxError) else f" ({where.filename}, line {where.lineno})"
        raise _Failed(f"importing {module_name!r} failed: {_describe(exc)}{at}") from None
    name = module_name
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise _Failed(f"{name} has no attribute {part!r}", 2)
        obj = getattr(obj, part)
        name = f"{name}{'.' if ':' in name else ':'}{part}"
    _check_servable(target, obj)
    return obj


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _check_servable(target: str, obj: object) -> None:
    """A Server, an Engine, or a WSGI app (callable with environ and start_response)."""
    import inspect

    from gsio.engine import Engine

    engine = obj if isinstance(obj, Engine) else getattr(obj, "engine", None)
    if isinstance(engine, Engine):
        if engine.concurrency.name != "gevent":
            raise _Failed(
                f"{target} runs in {engine.concurrency.name} mode; gsio serve runs on gevent"
                " (leave async_mode out, or set it to 'gevent')",
                2,
            )
        return
    if not callable(obj):
        what = f"{type(obj).__name__} {obj!r}"[:80]
        raise _Failed(f"{target} is {what}, not a gsio Server, Engine or WSGI app", 2)
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # a callable without a signature (a builtin): let it try
        return
    try:
        signature.bind({}, print)
    except TypeError:
        raise _Failed(
            f"{target} takes {signature}, not a WSGI app's (environ, start_response)"
            " nor a gsio Server or Engine",
            2,
        ) from None


def _listen(make_server: Any, app: object, host: str, port: int, header_timeout: float) -> Any:
    try:
        return make_server(app, host, port, header_timeout=header_timeout or None)
    except OSError as exc:  # the port in use, an unknown host, no permission
        reason = exc.strerror or str(exc)
        raise _Failed(f"cannot listen on {host}:{port}: {reason}") from None


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return port


def _workers(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers (1 or more)")
    return count


def _run_workers(args: argparse.Namespace) -> int:
    """``--workers N``: bind here, fork the workers (each patches, loads the app and serves),
    watch them (see :mod:`gsio.engine.prefork`)."""
    import socket

    from gsio import __version__
    from gsio.engine.prefork import run_workers

    try:
        listener = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((args.host, args.port))
        listener.listen(1024)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(
            f"gsio {args.command}: error: cannot listen on {args.host}:{args.port}: {reason}",
            file=sys.stderr,
        )
        return 1
    host, port = listener.getsockname()[:2]
    print(
        f"gsio {__version__} serving on http://{host}:{port} with {args.workers} workers",
        flush=True,
    )
    return run_workers(
        args.workers,
        listener,
        lambda sock, directory, index: _serve_worker(args, sock, directory, index),
    )


def _serve_worker(args: argparse.Namespace, listener: Any, directory: str, index: int) -> None:
    """One worker of ``--workers``: what ``gsio serve`` does alone, on the shared socket, in
    the group of workers (requests for another worker's session go there)."""
    import os

    from gevent import monkey

    monkey.patch_all()
    import logging
    import socket

    import gsio
    from gsio.cluster.sharing import share_across_workers
    from gsio.engine.workers import WorkerGroup
    from gsio.io.pollnative import serve_connection

    try:
        app = _demo_app() if args.command == "demo" else _load(args.target)
    except _Failed as failed:
        print(f"gsio {args.command}: error: {failed}", file=sys.stderr)
        sys.exit(failed.status)
    sock = socket.socket(fileno=os.dup(listener.fileno()))  # gevent's, on the shared socket
    listener.close()
    server = gsio.make_server(app, listener=sock, header_timeout=args.header_timeout or None)
    server.max_accept = 1  # a burst of connections spread over the workers (gsio.gunicorn)
    group = WorkerGroup(directory)
    wsgi = server.gsio_app
    if wsgi is not None and group.listen(
        wsgi.engine, lambda conn, address, data: serve_connection(conn, data, address, server)
    ):
        group.attach(wsgi.engine)
    bus = None
    if wsgi is not None:
        log = logging.getLogger("gsio.workers")
        bus = share_across_workers(
            group.directory, group.tag, wsgi.engine.handler, log, say=index == 0
        )
    try:
        gsio.serve_until_stopped(server, args.shutdown_timeout)
    finally:
        group.close()
        if bus is not None:
            bus.close()  # after the shutdown: its disconnect handlers may still broadcast


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="gsio", description="Serve gsio on gevent.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="serve a gsio.Server, Engine or WSGI app")
    serve_p.add_argument("target", help="module:attribute, e.g. app:sio or app:application")
    demo_p = sub.add_parser("demo", help="serve a live demo page (a chat between browser tabs)")
    client_p = sub.add_parser("client", help="the socket.io-client bundle that servers serve")
    client_sub = client_p.add_subparsers(dest="action", required=True)
    fetch_p = client_sub.add_parser(
        "fetch", help="download it from the npm registry, check its integrity, keep it"
    )
    fetch_p.add_argument("--dir", default=None, help="where to put it (default: the user's cache)")
    fetch_p.add_argument("--version", default=None, help="the socket.io-client version")
    fetch_p.add_argument(
        "--registry", default=None, help="the npm registry (default: $npm_config_registry or npm's)"
    )
    for p in (serve_p, demo_p):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=_port, default=5000, help="0: any free port")
        p.add_argument(
            "--shutdown-timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help="on SIGTERM or SIGINT, how long connections get to close (default: the"
            " engine's shutdown_timeout, 5)",
        )
        p.add_argument(
            "--workers",
            type=_workers,
            default=1,
            metavar="N",
            help="worker processes sharing the port, no sticky sessions needed (1)",
        )
        p.add_argument(
            "--header-timeout",
            type=float,
            default=60.0,
            metavar="SECONDS",
            help="close a connection that sends no complete request head in this time (60;"
            " 0: no limit)",
        )
    args = parser.parse_args(argv)
    if args.command == "client":
        from gsio.protocol.bundle import CLIENT_VERSION

        args.version = args.version or CLIENT_VERSION
        sys.exit(_client(args))
    if args.command == "demo":
        from gsio.demo import ensure_client_bundle

        ensure_client_bundle(lambda line: print(line, flush=True))
    if args.workers > 1:
        sys.exit(_run_workers(args))

    from gevent import monkey

    monkey.patch_all()
    import gsio

    try:
        app = _demo_app() if args.command == "demo" else _load(args.target)
        server = _listen(
            gsio.make_server, app, args.host, args.port, args.header_timeout
        )  # listening from here on
    except _Failed as failed:
        print(f"gsio {args.command}: error: {failed}", file=sys.stderr)
        sys.exit(failed.status)
    host, port = server.address[:2]
    print(f"gsio {gsio.__version__} serving on http://{host}:{port}", flush=True)
    # Until SIGTERM or SIGINT (Ctrl-C), then a graceful shutdown and a quiet exit.
    gsio.serve_until_stopped(server, args.shutdown_timeout)


if __name__ == "__main__":
    main()
