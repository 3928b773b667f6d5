"""Observers and listeners in one process (threading mode), over a transport that records what
it is handed: who takes which path, ack timeouts, and an observer that raises.
The same over real sockets and every server kind: test_observers.py."""

from __future__ import annotations

import logging
import threading
import time

import gsio
from gsio.exceptions import AckTimeout, ConnectionClosed


class Transport:
    """An Engine.IO session as the server sees it; keeps what it is handed."""

    protocol = 4
    transport = "websocket"

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.environ = {"REMOTE_ADDR": "127.0.0.1", "QUERY_STRING": "EIO=4"}
        self.closed = False
        self.data = None
        self.sent: list[list] = []

    def send_parts(self, parts, volatile=False):
        self.sent.append(list(parts))
        return True

    def close(self, reason="forced close"):
        self.closed = True


class Recorder(gsio.Observer):
    def __init__(self) -> None:
        self.seen: list[tuple] = []

    def event_received(self, conn, event, args, size):
        self.seen.append(("in", event, args, size))

    def event_sent(self, conn, event, args, size):
        self.seen.append(("out", event, args, size))

    def ack_pending(self, conn, ack_id):
        self.seen.append(("pending", ack_id))

    def ack_done(self, conn, ack_id, outcome):
        self.seen.append(("done", ack_id, outcome))


def _wait(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _server():
    sio = gsio.Server(async_mode="threading", serve_client=False)
    got: list = []

    @sio.on("ping")
    def ping(conn, *args):
        got.append(args)

    return sio, got


def _connect(sio, sid="s1"):
    socket = Transport(sid)
    sio.on_open(socket)
    sio.on_message(socket, "0")
    _wait(lambda: socket.data.conns.get("/") is not None and socket.data.conns["/"].connected)
    return socket, socket.data.conns["/"]


def _plain(sio, conn) -> bool:
    """No per-object binding but the direct ones: the paths of a server no one watches."""
    bound = {"_send", "deliver", "receive", "send_parts"} & set(vars(conn))
    return (
        not {"on_open", "on_message", "on_close", "encode"} & set(vars(sio))
        and bound <= {"send_parts", "deliver"}
        and conn.send_parts == conn.client.send_parts
        and conn.deliver == conn._inbox.put
        and type(conn._acks) is dict
    )


def test_an_observer_added_late_watches_the_live_connections_and_leaves_no_trace():
    sio, got = _server()
    socket, conn = _connect(sio)
    try:
        assert _plain(sio, conn)
        recorder = Recorder()
        watching = sio.observe(recorder)
        assert not _plain(sio, conn)
        sio.on_message(socket, '2["ping","é"]')
        conn.emit("pong", 1)
        sio.emit("news", b"\x01\x02")
        _wait(lambda: len(got) == 1)
        assert recorder.seen == [
            ("in", "ping", ["é"], len('2["ping","é"]'.encode())),
            ("out", "pong", [1], len('2["pong",1]')),
            ("out", "news", [b"\x01\x02"], len('51-["news",{"_placeholder":true,"num":0}]') + 2),
        ]
        watching.remove()
        watching.remove()  # (idempotent)
        assert _plain(sio, conn)
        sio.on_message(socket, '2["ping",2]')
        conn.emit("pong", 2)
        _wait(lambda: len(got) == 2)
        assert len(recorder.seen) == 3
    finally:
        sio.on_close(socket, "transport close")


def test_a_timed_emit_calls_back_once_answered_or_timed_out_or_closed():
    sio, _ = _server()
    recorder = Recorder()
    sio.observe(recorder)
    socket, conn = _connect(sio)
    calls: list = []
    done = threading.Event()

    def callback(err, *args):
        calls.append((type(err), args))
        done.set()

    try:
        # Answered: the ack's arguments, no error; the timer does not call again.
        conn.timeout(0.2).emit("q", callback=callback)
        ack_id = recorder.seen[-2][1]
        sio.on_message(socket, f'3{ack_id}["yes",2]')
        assert done.wait(5)
        time.sleep(0.4)
        assert calls == [(type(None), ("yes", 2))]
        # Unanswered: AckTimeout, and the ack is forgotten (a late answer is ignored).
        done.clear()
        conn.timeout(0.1).emit("q", callback=callback)
        late = recorder.seen[-2][1]
        assert done.wait(5)
        assert calls[1] == (AckTimeout, ())
        assert late not in conn._acks
        sio.on_message(socket, f"3{late}[]")
        time.sleep(0.1)
        assert len(calls) == 2
        # The connection closes first: ConnectionClosed.
        done.clear()
        conn.timeout(5).emit("q", callback=callback)
        closing = recorder.seen[-2][1]
        sio.on_close(socket, "transport close")
        assert done.wait(5)
        assert calls[2] == (ConnectionClosed, ())
        acks = [s for s in recorder.seen if s[0] in ("pending", "done")]
        assert acks == [
            ("pending", ack_id),
            ("done", ack_id, "answered"),
            ("pending", late),
            ("done", late, "timed out"),
            ("pending", closing),
            ("done", closing, "closed"),
        ]
    finally:
        sio.on_close(socket, "transport close")


def test_an_observer_that_raises_is_logged_once_per_method(caplog):
    class Broken:
        def event_received(self, conn, event, args, size):
            raise RuntimeError("broken")

        def event_sent(self, conn, event, args, size):
            raise RuntimeError("broken")

    sio, got = _server()
    recorder = Recorder()
    sio.observe(Broken())
    sio.observe(recorder)
    socket, conn = _connect(sio)
    try:
        with caplog.at_level(logging.ERROR, logger="gsio.observers"):
            for i in range(3):
                sio.on_message(socket, f'2["ping",{i}]')
                assert conn.emit("pong", i)
            _wait(lambda: len(got) == 3)
        failures = [r.getMessage() for r in caplog.records if r.name == "gsio.observers"]
        assert len(failures) == 2, failures
        assert [s[:2] for s in recorder.seen] == [("in", "ping"), ("out", "pong")] * 3
    finally:
        sio.on_close(socket, "transport close")


def test_a_listener_that_raises_is_logged_once_and_the_event_is_handled(caplog):
    sio, got = _server()
    socket, conn = _connect(sio)
    outgoing: list = []
    conn.on_any(lambda event, *args: 1 / 0)
    conn.on_any_outgoing(lambda event, *args: outgoing.append((event, args)))
    try:
        with caplog.at_level(logging.ERROR, logger="gsio.socket"):
            for i in range(3):
                sio.on_message(socket, f'2["ping",{i}]')
            _wait(lambda: len(got) == 3)
        assert len([r for r in caplog.records if "listener" in r.getMessage()]) == 1
        sio.to(conn.id).emit("direct", 1)
        conn.emit("own", 2)
        assert outgoing == [("direct", (1,)), ("own", (2,))]
        conn.off_any_outgoing()
        conn.off_any()
        conn.emit("own", 3)
        assert len(outgoing) == 2
        assert _plain(sio, conn)
    finally:
        sio.on_close(socket, "transport close")


def test_an_observed_connection_still_emits_uncompressed():
    """``conn.compress(False).emit`` on a watched connection: told, and sent once."""
    sio, _ = _server()
    socket, conn = _connect(sio)
    try:
        recorder = Recorder()
        with sio.observe(recorder):
            before = len(socket.sent)
            assert conn.compress(False).emit("pong", 3)
            assert recorder.seen == [("out", "pong", [3], len('2["pong",3]'))]
            assert len(socket.sent) == before + 1
    finally:
        sio.on_close(socket, "transport close")


class Totals(gsio.Observer):
    def __init__(self) -> None:
        self.seen: list[tuple] = []

    def events_sent(self, namespace, event, args, count, size):
        self.seen.append((namespace, event, args, count, size))


def test_a_totals_observer_is_told_once_per_broadcast_and_leaves_broadcasts_plain():
    sio, _ = _server()
    (s1, c1), (s2, c2) = _connect(sio, "s1"), _connect(sio, "s2")
    try:
        totals = Totals()
        sio.observe(totals)
        # Broadcasts stay on the connections' plain path: no per-recipient call.
        assert c1.send_parts == c1.client.send_parts and c2.send_parts == c2.client.send_parts
        sio.emit("news", "hi")
        c1.emit("pong", 1)
        sio.to(c2.id).emit("solo")
        text = '2["news","hi"]'
        assert totals.seen == [
            ("/", "news", ["hi"], 2, len(text)),
            ("/", "pong", [1], 1, len('2["pong",1]')),
            ("/", "solo", [], 1, len('2["solo"]')),
        ]
        assert s1.sent[-2:] == [[text], ['2["pong",1]']] and s2.sent[-2:] == [[text], ['2["solo"]']]
        # One that wants each recipient, added later, gets them; removed, the plain path again.
        each = Recorder()
        watching = sio.observe(each)
        assert c1.send_parts != c1.client.send_parts
        sio.emit("news", "again")
        assert [e for e in each.seen if e[0] == "out"] == [("out", "news", ["again"], 17)] * 2
        assert totals.seen[-1] == ("/", "news", ["again"], 2, 17)
        watching.remove()
        assert c1.send_parts == c1.client.send_parts
        sio.emit("news", "last")
        assert totals.seen[-1] == ("/", "news", ["last"], 2, 16) and len(each.seen) == 2
    finally:
        sio.on_close(s1, "transport close")
        sio.on_close(s2, "transport close")
