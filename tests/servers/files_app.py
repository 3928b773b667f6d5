"""A Socket.IO server that emits files (file-like objects), for tests/server/test_files.py.

``--dir``: where the test put the files (each event names one); ``--max-payload`` the server's;
``--parser`` json or msgpack. Every event acks, after its emit, with what became of the file:
``{"closed": f.closed, "pos": f.tell() or null, "read": bytes read}``, or with
``{"error": class name, "message": ...}`` when the emit raised.

- ``file(name)``: ``conn.emit("file", f)``; ``nested(name)``: ``conn.emit("nested", {"meta":
  {"name": name}, "parts": [f, "x"]})``.
- ``pipe(name)``: the file's bytes through an OS pipe (written by a thread): unseekable.
- ``stream(name)``: through ``io.BufferedReader`` over a raw stream of 7,000-byte reads.
- ``join(room)``; ``room(name, room)``: ``sio.to(room).emit("file", f)`` (the sender joined ``room`` first);
  ``"read"`` tells the bytes read: once for every recipient.
- ``call(name)``: ``conn.call("take", f)``, acks with the client's answer too.
- ``fetch(name)``: the handler returns ``f``: the ack carries it (``msg.reply``).
- ``after(text)``: emits ``after`` with ``text``.
"""

import common

KIND = common.patch_for_kind()

import argparse  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402

import gsio  # noqa: E402

FILES: list = []  # every file handed to gsio: checked after the emit, never closed by gsio


class Counting(io.FileIO):
    """A file that counts the bytes read from it."""

    read_bytes = 0

    def readinto(self, buffer):
        n = super().readinto(buffer)
        self.read_bytes += n or 0
        return n


class Chunks(io.RawIOBase):
    """A raw stream of ``data`` in 7,000-byte reads, unseekable."""

    def __init__(self, data):
        self.data = memoryview(data)
        self.read_bytes = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), 7000, len(self.data) - self.read_bytes)
        buffer[:n] = self.data[self.read_bytes : self.read_bytes + n]
        self.read_bytes += n
        return n


def in_os_thread(fn):
    """Run ``fn`` in a real OS thread (a greenlet would wait for the hub, which the pipe's
    reader blocks)."""
    if KIND == "werkzeug":
        import threading

        threading.Thread(target=fn, daemon=True).start()
    else:
        import gevent

        gevent.get_hub().threadpool.spawn(fn)


def build(args):
    sio = gsio.Server(parser=args.parser, max_payload=args.max_payload)
    folder = pathlib.Path(args.dir)

    def opened(name):
        f = Counting(folder / name, "r")
        FILES.append(f)
        return f

    def fate(f, raw=None):
        counted = raw if raw is not None else f
        pos = None if f.closed or not f.seekable() else f.tell()
        return {"closed": f.closed, "pos": pos, "read": getattr(counted, "read_bytes", None)}

    def attempt(send, f, raw=None):
        try:
            send(f)
        except gsio.GsioError as exc:
            return {"error": type(exc).__name__, "message": str(exc), **fate(f, raw)}
        return fate(f, raw)

    @sio.on("file")
    def file(conn, name):
        return attempt(lambda f: conn.emit("file", f), opened(name))

    @sio.on("nested")
    def nested(conn, name):
        def send(f):
            conn.emit("nested", {"meta": {"name": name}, "parts": [f, "x"]})

        return attempt(send, opened(name))

    @sio.on("pipe")
    def pipe(conn, name):
        data = (folder / name).read_bytes()
        r, w = os.pipe()

        def write():
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(w, view) :]
            except BrokenPipeError:
                pass  # the reader stopped past max_payload
            finally:
                os.close(w)

        in_os_thread(write)
        f = open(r, "rb")
        FILES.append(f)
        result = attempt(lambda f: conn.emit("pipe", f), f)
        f.close()  # ours: gsio leaves it open
        return result

    @sio.on("stream")
    def stream(conn, name):
        raw = Chunks((folder / name).read_bytes())
        f = io.BufferedReader(raw)
        FILES.append(f)
        return attempt(lambda f: conn.emit("stream", f), f, raw)

    @sio.on("join")
    def join(conn, room):
        conn.join(room)
        return True

    @sio.on("room")
    def room(conn, name, room):
        conn.join(room)
        return attempt(lambda f: sio.to(room).emit("file", f), opened(name))

    @sio.on("call")
    def call(conn, name):
        f = opened(name)
        answer = conn.call("take", f, timeout=30)
        return {**fate(f), "answer": answer}

    @sio.on("fetch")
    def fetch(conn, name):
        return opened(name)

    @sio.on("after")
    def after(conn, text):
        conn.emit("after", text)

    return sio


def main():
    parser = argparse.ArgumentParser()
    common.add_common_arguments(parser)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--max-payload", type=int, default=400_000)
    parser.add_argument("--parser", default="json")
    args = parser.parse_args()
    common.setup_logging()
    common.serve_app(gsio.WSGIApp(build(args)), args.kind, args.port, args.header_timeout)


if __name__ == "__main__":
    main()
