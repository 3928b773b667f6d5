"""gsio implementing the shared benchmark harness's server contract (../shared/bench/README.md).

Usage: python benchmarks/contract_server.py PORT [--gevent-websocket | --simple-websocket]
[--recovery] [--observe] [--metrics] [--admin] [--no-gc-freeze] [--blocking]
[--ping-interval=S] [--ping-timeout=S] [--threading]

By default WebSocket is served as ``gsio.serve`` serves it: gsio's own handler and frame layer.
--gevent-websocket serves it with gevent-websocket's handler, --simple-websocket with
simple-websocket on plain pywsgi (to compare the backends). --recovery turns connection state
recovery on (benchmarks/node_recovery_server.js is Node's socket.io with it); --observe adds
an observer counting events, bytes and connections (what observing costs); --metrics
instruments the server with gsio.metrics (Prometheus, ``GET /metrics``), --admin with
gsio.instrument (the Admin UI, production mode, no admin connected); --no-gc-freeze
leaves the garbage collector as Python has it (gsio.io.collector); --blocking serves ``/``
with the blocking API (``for msg in conn``, ``msg.reply()``) instead of event handlers, for
the same contract; --ping-interval=S and --ping-timeout=S change the heartbeat's 25 and 20
seconds (benchmarks/heartbeats.py); --threading serves without gevent (neither imported nor
patched): werkzeug's threaded server, gsio's threading mode, WebSocket through
simple-websocket (benchmarks/pysio_threading_server.py is python-socketio's threading mode;
werkzeug closes every connection after its response: for long-polling, run it under
gunicorn's gthread worker, ``GSIO_THREADING=1 gunicorn -k gthread --threads 250``). Under
gunicorn, the app is ``contract_server:app``.

Beside the contract, ``GET /stats`` answers what benchmarks/leakcheck.py watches, as JSON:
``rss_kib``, ``greenlets``, ``sessions`` (Engine.IO), ``conns`` (namespace ``/``), ``kept``
(its sessions kept for connection state recovery) and
``objects`` (tracked by the garbage collector). ``GET /stats?gc=1`` collects garbage first,
``?trim=1`` gives the C heap's free memory back to the system first (glibc's malloc_trim),
``?types=1`` adds the most numerous kinds of tracked objects, ``?heap=1`` where the memory
is (``heap``: Python's object allocator and glibc's heap, in KiB). ``GET /stats?pings=1`` answers
only ``ping_late_ms``: the greatest lateness of the last ping of each session (how late the
server's timer ran, ``Session.ping_lateness``), and ``sessions``.
"""

import os
import sys

# (under gunicorn, whose argv this is not: GSIO_THREADING=1)
THREADING = "--threading" in sys.argv or os.environ.get("GSIO_THREADING") == "1"
if not THREADING:
    from gevent import monkey

    monkey.patch_all()

import collections  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402

import greenlet  # noqa: E402

import gsio  # noqa: E402
from gsio.io.collector import collect_all  # noqa: E402


def _option(name, default):
    for arg in sys.argv:
        if arg.startswith(name + "="):
            return float(arg.split("=", 1)[1])
    return default


sio = gsio.Server(
    ping_interval=_option("--ping-interval", 25),
    ping_timeout=_option("--ping-timeout", 20),
    connection_state_recovery="--recovery" in sys.argv,
    per_message_deflate="--deflate" in sys.argv,  # (benchmarks/deflate_echo.js)
    gc_freeze="--no-gc-freeze" not in sys.argv,
)


class _Counting:
    """--observe: an observer counting what metrics count (events, bytes, connections)."""

    def __init__(self):
        self.counts = collections.Counter()

    def connected(self, conn):
        self.counts["connections"] += 1

    def disconnected(self, conn, reason):
        self.counts[f"disconnections {reason}"] += 1

    def event_received(self, conn, event, args, size):
        self.counts["events in"] += 1
        self.counts["bytes in"] += size

    def event_sent(self, conn, event, args, size):
        self.counts["events out"] += 1
        self.counts["bytes out"] += size


if "--observe" in sys.argv:
    sio.observe(_Counting())


@sio.on("echo")
def echo(conn, *args):
    return args


@sio.on("broadcast")
def broadcast(conn, count, payload):
    for _ in range(count):
        sio.emit("msg", payload)
    return count


if "--blocking" in sys.argv:

    @sio.handler
    def serve(conn):
        for msg in conn:
            if msg.event == "echo":
                msg.reply(*msg.args)
            elif msg.event == "broadcast":
                msg.reply(broadcast(conn, *msg.args))


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _malloc_trim():
    """Give the C heap's free memory back to the system (glibc), as RSS would show it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _heap():
    """RSS split into Python's object allocator (its arenas: held while any block in them
    lives) and glibc's heap (in use, free; mmapped blocks), in KiB."""
    import ctypes
    import os
    import re
    import tempfile

    result = {}
    with tempfile.TemporaryFile() as f:  # _debugmallocstats writes to the C stderr
        saved = os.dup(2)
        try:
            os.dup2(f.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read().decode()
    for key, pattern in {
        "arenas": r"# arenas allocated current\s*=\s*([\d,]+)",
        "arena_kib": r"# bytes in allocated blocks\s*=\s*([\d,]+)",
        "free_blocks_kib": r"# bytes in available blocks\s*=\s*([\d,]+)",
        "unused_pools_kib": r"\d+ unused pools \* \d+ bytes\s*=\s*([\d,]+)",
        "total_obmalloc_kib": r"Total\s*=\s*([\d,]+)",
    }.items():
        m = re.search(pattern, text)
        if m:
            value = int(m.group(1).replace(",", ""))
            result[key] = value if key == "arenas" else value // 1024
    result["used_blocks_kib"] = result.pop("arena_kib", 0)

    class Mallinfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()
        ]

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = Mallinfo2
        info = libc.mallinfo2()
        result["malloc_heap_kib"] = info.arena // 1024
        result["malloc_in_use_kib"] = info.uordblks // 1024
        result["malloc_free_kib"] = info.fordblks // 1024
        result["malloc_mmapped_kib"] = info.hblkhd // 1024
    except (OSError, AttributeError):
        pass
    return result


def stats(environ, start_response):
    if environ.get("PATH_INFO") != "/stats":
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    query = environ.get("QUERY_STRING", "")
    if "pings=1" in query:  # cheap: polled during a run (benchmarks/heartbeats.py)
        sockets = list(sio.engine.sockets.values())
        late = max((s.session.ping_lateness for s in sockets), default=0.0)
        return _json(start_response, {"ping_late_ms": late * 1000, "sessions": len(sockets)})
    if "gc=1" in query:
        collect_all()  # (gc.collect() and get_objects() leave frozen objects out)
    if "trim=1" in query:
        _malloc_trim()
    objects = gc.get_objects()
    result = {
        "rss_kib": rss_kib(),
        "greenlets": sum(1 for o in objects if isinstance(o, greenlet.greenlet)),
        "sessions": len(sio.engine.sockets),
        "conns": len(sio.of("/").conns),
        # Sessions kept for connection state recovery (--recovery).
        "kept": len(sio.of("/").adapter.sessions or ()),
        "objects": len(objects),
    }
    if "heap=1" in query:  # where the memory is: Python's arenas, the C heap, the rest
        result["heap"] = _heap()
    if "types=1" in query:  # the most numerous kinds of tracked objects
        counts = collections.Counter(type(o).__qualname__ for o in objects)
        result["types"] = dict(counts.most_common(40))
    return _json(start_response, result)


def _json(start_response, result):
    body = json.dumps(result).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


if "--metrics" in sys.argv:
    import gsio.metrics  # noqa: E402

    stats = gsio.metrics.instrument(sio).wsgi_app(stats)

if "--admin" in sys.argv:  # the Admin UI's server side, as a production deployment runs it
    gsio.instrument(sio, auth=False, mode="production")

# For gunicorn: gunicorn -k gsio.gunicorn.GeventWorker -w 1 --chdir benchmarks contract_server:app
app = gsio.WSGIApp(sio, stats)

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    port = int(args[0] if args else os.environ["PORT"])
    if THREADING:
        import logging

        from werkzeug.serving import WSGIRequestHandler, make_server

        class KeepAlive(WSGIRequestHandler):
            protocol_version = "HTTP/1.1"  # (1.0 by default: a connection per poll)

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
        server = make_server("127.0.0.1", port, app, threaded=True, request_handler=KeepAlive)
        server.serve_forever()
        sys.exit()
    websocket = True
    if "--gevent-websocket" in sys.argv:
        websocket = "gevent-websocket"
    elif "--simple-websocket" in sys.argv:
        websocket = False
    gsio.serve(app, "127.0.0.1", port, websocket=websocket)
