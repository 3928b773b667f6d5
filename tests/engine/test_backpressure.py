"""Bounded memory per client (``max_outbound_buffer``): a client that stops reading while the
server keeps sending to its room is disconnected ("transport error", one WARNING), what waits
for it never grows past the limit and one message, and the others in the room go on.

On real sockets, against tests/servers/flood_app.py with a 256 KiB limit: a raw WebSocket
client (tests/rawws.py) or raw polling requests that join a room and then stop reading, while
the server floods the room and another client in it keeps reading and timing round trips.
"""

from __future__ import annotations

import json
import queue
import statistics
import threading
import time

import pytest
from rawws import RawWebSocket

LIMIT = 256 * 1024
SIZE = 8192  # each flood message's payload
MESSAGE = SIZE + 64  # what one flood message takes, framing and event included
INTERVAL = 0.004  # between flood emits: ~2 MB/s
WS_PATH = "/socket.io/?EIO=4&transport=websocket"
POLL_PATH = "/socket.io/?EIO=4&transport=polling"


class SioWs:
    """A Socket.IO client on a raw WebSocket. :meth:`call` reads inline until its ack until
    :meth:`start` hands reading to a thread, which answers pings, counts flood messages and
    hands each ack to its caller (calls may come from several threads then); a client that
    never starts it stops reading after its last call."""

    def __init__(self, port: int) -> None:
        self.ws = RawWebSocket(port, WS_PATH)
        assert self.ws.status == 101, self.ws.head
        opened = self.ws.recv()
        assert opened.startswith("0"), opened
        self.sid = json.loads(opened[1:])["sid"]  # the Engine.IO session's
        self.ws.send_text("40")
        connected = self.ws.recv()
        assert connected.startswith("40"), connected
        self.id = json.loads(connected[2:])["sid"]  # the Socket.IO socket's
        self._lock = threading.Lock()
        self._waiting: dict[int, queue.Queue] = {}
        self._next = 0
        self._thread: threading.Thread | None = None
        self.flood = 0  # flood messages received

    def _send(self, text: str) -> None:
        with self._lock:
            self.ws.send_text(text)

    def _handle(self, text: str) -> None:
        """Answer a ping, count a flood message, hand an ack to its caller."""
        if text == "2":
            self._send("3")
        elif text.startswith('42["flood"'):
            self.flood += 1
        elif text.startswith("43"):
            ack_id, _, args = text[2:].partition("[")
            with self._lock:
                waiting = self._waiting.pop(int(ack_id), None)
            if waiting is not None:
                waiting.put(json.loads("[" + args))

    def call(self, event: str, *args, timeout: float = 10.0):
        answer: queue.Queue = queue.Queue()
        with self._lock:
            self._next += 1
            self._waiting[self._next] = answer
            self.ws.send_text(f"42{self._next}" + json.dumps([event, *args]))
        if self._thread is not None:
            return answer.get(timeout=timeout)
        deadline = time.monotonic() + timeout
        while answer.empty():
            assert time.monotonic() < deadline, f"no ack for {event} within {timeout} s"
            self._handle(self.ws.recv())
        return answer.get()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while True:
                opcode, payload = self.ws.recv_frame()
                if opcode == 0x8:
                    break
                if opcode == 0x1:
                    self._handle(payload)
        except (OSError, EOFError):
            pass

    def close(self) -> None:
        self.ws.close()


class SioPolling:
    """A Socket.IO client on raw long-polling requests; it reads only inside :meth:`call`."""

    def __init__(self, server) -> None:
        self.server = server
        status, _, body = server.request("GET", POLL_PATH)
        assert status == 200, body
        self.sid = json.loads(body.decode()[1:])["sid"]
        self.path = f"{POLL_PATH}&sid={self.sid}"
        self.post("40")
        (connected,) = self.get()
        assert connected.startswith("40"), connected
        self.id = json.loads(connected[2:])["sid"]
        self._next = 0

    def post(self, text: str) -> None:
        status, _, body = self.server.request("POST", self.path, text.encode())
        assert (status, body) == (200, b"ok")

    def get(self) -> list[str]:
        status, _, body = self.server.request("GET", self.path)
        assert status == 200, (status, body)
        return body.decode().split("\x1e")

    def call(self, event: str, *args):
        self._next += 1
        self.post(f"42{self._next}" + json.dumps([event, *args]))
        prefix = f"43{self._next}["
        for _ in range(20):
            for text in self.get():
                if text == "2":
                    self.post("3")
                elif text.startswith(prefix):
                    return json.loads(text[len(prefix) - 1 :])
        raise AssertionError(f"no ack for {event}")


class RoundTrips:
    """Times ``echo`` round trips of a reading client, back to back, in a thread."""

    def __init__(self, client: SioWs) -> None:
        self.client = client
        self.samples: list[tuple[float, float]] = []  # (when it started, how long it took)
        self.failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                start = time.monotonic()
                assert self.client.call("echo", start) == [start]
                self.samples.append((start, time.monotonic() - start))
                self._stop.wait(0.02)
        except BaseException as exc:  # reported by stop()
            self.failure = exc

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)
        assert self.failure is None, f"a round trip failed: {self.failure!r}"

    def between(self, start: float, end: float) -> list[float]:
        return [took for when, took in self.samples if start <= when <= end]


def rss_kib(server) -> int:
    with open(f"/proc/{server.proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def warnings_for(server, sid: str) -> list[str]:
    return [
        line
        for line in server.output().splitlines()
        if line.startswith(f"WARNING gsio.engine: {sid}: ") and "max_outbound_buffer" in line
    ]


def report(label: str, rtts: list[float], **numbers) -> None:
    """Printed for the record (pytest -s); the only timing assertions are generous bounds."""
    assert rtts, f"{label}: no round trip completed"
    assert max(rtts) < 5.0, f"{label}: a round trip took {max(rtts):.2f} s"
    extra = " ".join(f"{key}={value}" for key, value in numbers.items())
    print(
        f"\n{label}: {len(rtts)} round trips, median {statistics.median(rtts) * 1000:.1f} ms,"
        f" max {max(rtts) * 1000:.1f} ms {extra}"
    )


def start_healthy(server) -> tuple[SioWs, RoundTrips]:
    healthy = SioWs(server.port)
    assert healthy.call("join", "room") == ["joined"]
    healthy.start()
    return healthy, RoundTrips(healthy)


def cut_while_flooding(server, wait_for, healthy, trips, slow_id: str, label: str) -> dict:
    """Flood the room until the slow client is cut; check the others went on; the log."""
    rss_before = rss_kib(server)
    time.sleep(0.5)  # round trips before the flood, for comparison
    started = time.monotonic()
    assert healthy.call("flood", "room", SIZE, INTERVAL, False) == ["flooding"]
    wait_for(
        lambda: slow_id in server.get_json("/log")["disconnects"],
        timeout=40,
        message="the client that does not read to be disconnected",
    )
    cut = time.monotonic()
    flood_at_cut = healthy.flood
    time.sleep(1.0)  # the room goes on: the reading client keeps receiving, round trips too
    emitted = healthy.call("flood_stop")[0]
    trips.stop()
    log = server.get_json("/log")
    assert log["disconnects"][slow_id] == "transport error"
    assert healthy.id not in log["disconnects"]
    assert healthy.flood > flood_at_cut, "the reading client got nothing after the cut"
    # What waited for any one client never went past the limit and one message.
    assert 0 < log["peak"] <= LIMIT + MESSAGE, log["peak"]
    rss_growth = rss_kib(server) - rss_before
    assert rss_growth < 64 * 1024, f"the server grew by {rss_growth} KiB"
    quiet = trips.between(0, started)
    report(
        label,
        trips.between(started, cut + 1.0),
        before=f"{statistics.median(quiet) * 1000:.1f}ms" if quiet else "-",
        cut_after=f"{cut - started:.1f}s",
        emitted=emitted,
        peak_buffered=log["peak"],
        rss_growth_kib=rss_growth,
    )
    return log


def test_websocket_client_that_stops_reading_is_cut(start_server, wait_for, kind):
    server = start_server("flood_app", "--max-outbound-buffer", LIMIT, kind=kind)
    healthy, trips = start_healthy(server)
    slow = SioWs(server.port)
    assert slow.call("join", "room") == ["joined"]  # and from now on it reads nothing
    cut_while_flooding(server, wait_for, healthy, trips, slow.id, f"websocket {kind}")
    assert len(warnings_for(server, slow.sid)) == 1, server.output()
    # The connection was dropped: past what the kernel held, the stream ends.
    slow.ws.sock.settimeout(10)
    assert slow.ws.at_eof()
    assert healthy.call("echo", "after") == ["after"]
    healthy.close()


@pytest.mark.parametrize("kind", ["gsio", "pywsgi"])
def test_polling_client_that_stops_fetching_is_cut(start_server, wait_for, kind):
    server = start_server("flood_app", "--max-outbound-buffer", LIMIT, kind=kind)
    healthy, trips = start_healthy(server)
    slow = SioPolling(server)
    assert slow.call("join", "room") == ["joined"]  # and from now on it sends no GET
    log = cut_while_flooding(server, wait_for, healthy, trips, slow.id, f"polling {kind}")
    assert slow.sid not in log["buffered"]  # the session and its queue are gone
    assert len(warnings_for(server, slow.sid)) == 1, server.output()
    status, _, body = server.request("GET", slow.path)
    assert (status, json.loads(body)) == (400, {"code": 1, "message": "Session ID unknown"})
    healthy.close()


@pytest.mark.parametrize("kind", ["gsio", "pywsgi-ws"])
def test_volatile_messages_are_dropped_not_buffered(start_server, wait_for, kind):
    """Volatile messages to a client with anything waiting are dropped: a volatile flood far
    past the limit leaves the client that does not read connected, with less than the limit
    waiting; the first non-volatile flood then cuts it."""
    server = start_server("flood_app", "--max-outbound-buffer", LIMIT, kind=kind)
    healthy, trips = start_healthy(server)
    slow = SioWs(server.port)
    assert slow.call("join", "room") == ["joined"]
    before = healthy.flood
    assert healthy.call("flood", "room", SIZE, INTERVAL / 4, True) == ["flooding"]
    time.sleep(6)  # ~12 MB of volatile messages: the kernel's buffers and far more than LIMIT
    emitted = healthy.call("flood_stop")[0]
    log = server.get_json("/log")
    assert emitted * SIZE > 8 * LIMIT, emitted
    assert slow.id not in log["disconnects"]
    assert log["peak"] <= LIMIT, log["peak"]
    assert healthy.flood > before  # the one that reads gets volatile messages
    assert not warnings_for(server, slow.sid)
    # Non-volatile messages are kept for it, up to the limit: then it is cut.
    cut_while_flooding(server, wait_for, healthy, trips, slow.id, f"volatile then normal {kind}")
    assert len(warnings_for(server, slow.sid)) == 1, server.output()
    healthy.close()


def test_a_burst_to_an_engine_client_that_does_not_read(start_server, wait_for, reader):
    """A burst sent in one go (by the engine handler, in the event loop or in the reader's
    greenlet) to a client that reads nothing: cut at the limit, what waits dropped at once."""
    burst_to_a_client_that_does_not_read(start_server, wait_for, "gsio", reader)


@pytest.mark.parametrize("kind", ["pywsgi-ws", "pywsgi", "werkzeug"])
def test_a_burst_to_an_engine_client_that_does_not_read_other_backends(
    start_server, wait_for, kind
):
    burst_to_a_client_that_does_not_read(start_server, wait_for, kind, ())


def burst_to_a_client_that_does_not_read(start_server, wait_for, kind, reader):
    server = start_server("engine_app", "--max-outbound-buffer", LIMIT, *reader, kind=kind)
    ws = RawWebSocket(server.port, WS_PATH)
    sid = json.loads(ws.recv()[1:])["sid"]
    ws.send_text("4burst:20000:" + "x" * 1000)  # 20 MB, and from now on it reads nothing
    reasons = wait_for(
        lambda: server.get_json("/reasons"), timeout=20, message="the session to be closed"
    )
    assert reasons == {sid: "transport error"}
    assert len(warnings_for(server, sid)) == 1, server.output()
    assert server.get_json("/sessions") == {}
    ws.sock.settimeout(10)
    frames, code = ws.until_close()
    assert code is None  # no close frame: it would have waited behind what was dropped
    # gsio's frame layer writes during the burst; other backends' writers start after it.
    assert len(frames) < 20000
