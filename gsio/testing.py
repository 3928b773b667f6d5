"""A Socket.IO client for your own tests.

:class:`TestClient` speaks the real protocol over a real WebSocket, to a URL or to a
:class:`gsio.Server` (or WSGI app) that it serves itself on a free loopback port::

    from gsio.testing import TestClient

    def test_echo():
        with TestClient(sio, auth={"token": "t"}) as client:
            assert client.call("echo", "hi") == "hi"
            client.emit("join", "lobby")
            event = client.receive()            # the next event the server sent
            assert event.name == "joined"

A server in threading mode is served by werkzeug's threaded server; one in gevent mode (the
process is monkey-patched) by gevent's pywsgi. Nothing is mocked: what passes here passes with
the official clients.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from typing import Any, cast
from urllib.parse import urlencode

from gsio.exceptions import AckTimeout, ConnectionClosed, ConnectionRefused
from gsio.protocol import engineio as eio
from gsio.protocol.socketio import Decoder, Packet, PacketType, encode
from gsio.server.files import has_file, read_files

__all__ = ["TestClient", "ReceivedEvent"]


_client_class: Any = None


def websocket_client(url: str, **kwargs: Any) -> Any:
    """``simple_websocket.Client.connect(url, **kwargs)``, reading the frames that came with the
    handshake's answer.

    simple-websocket's client hands wsproto the first bytes it reads, takes the handshake's
    answer out and leaves anything after it (the Engine.IO OPEN, when the server is quick)
    unread until more data arrives: the client would wait for a packet it already has.

    Its reading thread is a daemon: simple-websocket's is not, and one left running (a client
    never closed, or one the server still holds open after refusing it) would keep the
    process from exiting until the server drops the connection.

    ``close()`` returns once that thread has ended. simple-websocket's closes the socket under
    a thread that may be about to read it: under load, that thread's ``recv()`` could then run
    on the descriptor number the next connection got, and take its first bytes.
    """
    global _client_class
    if _client_class is None:
        import socket

        import simple_websocket

        class Client(simple_websocket.Client):
            def handshake(self) -> None:
                super().handshake()
                self.connected = self._handle_events()

            def close(self, reason: Any = None, message: Any = None) -> None:
                try:
                    simple_websocket.ws.Base.close(self, reason, message)  # the close frame
                except simple_websocket.ConnectionClosed:
                    pass
                finally:
                    try:
                        self.sock.shutdown(socket.SHUT_RDWR)  # the reader sees EOF and ends
                    except OSError:
                        pass
                    if self.thread is not threading.current_thread():
                        self.thread.join(10)
                    self.sock.close()

        _client_class = Client
    kwargs.setdefault("thread_class", _daemon_thread)
    return _client_class.connect(url, **kwargs)


def _daemon_thread(target: Any) -> threading.Thread:
    return threading.Thread(target=target, daemon=True)


class ReceivedEvent:
    """An event the server sent: ``namespace``, ``name``, ``args``; :meth:`reply` acks it."""

    __slots__ = ("namespace", "name", "args", "_client", "_id")

    def __init__(self, client: TestClient, namespace: str, name: str, args: list, ack_id: Any):
        self.namespace = namespace
        self.name = name
        self.args = args
        self._client = client
        self._id = ack_id

    def reply(self, *args: Any) -> None:
        """Acknowledge the event (the server's ``call()`` or callback gets ``args``)."""
        if self._id is None:
            raise ValueError(f"the server asked for no ack of {self.name!r}")
        self._client._send(Packet(PacketType.ACK, self.namespace, list(args), self._id))

    def __repr__(self) -> str:
        return f"ReceivedEvent({self.name!r}, {self.args!r}, namespace={self.namespace!r})"


class TestClient:
    """Connect to ``target`` (a ``Server``, ``Engine``, WSGI app, or ``http://`` URL) and join
    ``namespace`` (None joins none). ``auth`` is the CONNECT payload; ``query`` and ``headers``
    go with the WebSocket request. Use it as a context manager, or call :meth:`close`."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        target: Any,
        namespace: str | None = "/",
        *,
        auth: dict | None = None,
        query: dict | None = None,
        headers: dict | None = None,
        path: str = "/socket.io/",
        timeout: float = 5.0,
    ) -> None:
        self.timeout = timeout
        self._server: Any = None
        url = target if isinstance(target, str) else self._serve(target)
        base = url.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        params = urlencode({**(query or {}), "EIO": "4", "transport": "websocket"})
        try:
            self._ws = websocket_client(f"{base}{path}?{params}", headers=headers)
        except BaseException:
            self._stop_server()
            raise
        self._decoder = Decoder(max_attachments=1000)
        self._events: dict[str, queue.Queue] = {}
        self._connects: dict[str, queue.Queue] = {}
        self._acks: dict[int, queue.Queue] = {}
        self._ack_ids = itertools.count()
        self._lock = threading.Lock()
        self.sids: dict[str, str] = {}
        self.closed_reason: str | None = None
        self._reader = threading.Thread(target=self._read, name="gsio-test-client", daemon=True)
        try:
            opening = self._ws.receive(timeout)
            if not isinstance(opening, str) or not opening.startswith("0"):
                raise ConnectionClosed(f"no Engine.IO handshake: {opening!r}")
            handshake = json.loads(opening[1:])
            self.eio_sid = handshake["sid"]
            #: The server's ``max_payload``: what the files of one emit may hold.
            self.max_payload: int = handshake.get("maxPayload", 1_000_000)
            self._reader.start()
            if namespace is not None:
                self.connect(namespace, auth)
        except BaseException:
            # Refused (or no handshake): the server keeps the Engine.IO session open for a
            # retry until its connect_timeout; close it now rather than leave it to that.
            self.close()
            raise

    # -- the API ------------------------------------------------------------------------

    def connect(self, namespace: str = "/", auth: dict | None = None) -> str:
        """Join a namespace; returns the socket id. Raises :class:`ConnectionRefused` with the
        server's message and data on a CONNECT_ERROR."""
        answers = self._connects.setdefault(namespace, queue.Queue())
        self._send(Packet(PacketType.CONNECT, namespace, auth))
        packet = self._get(answers, f"the CONNECT answer of {namespace}")
        if packet.type is PacketType.CONNECT_ERROR:
            data = packet.data if isinstance(packet.data, dict) else {"message": packet.data}
            raise ConnectionRefused(data.get("message", ""), data.get("data"))
        self.sids[namespace] = packet.data["sid"]
        return self.sids[namespace]

    def emit(self, event: str, *args: Any, namespace: str = "/") -> None:
        """Send an event."""
        self._send(Packet(PacketType.EVENT, namespace, [event, *args]))

    def call(
        self, event: str, *args: Any, namespace: str = "/", timeout: float | None = None
    ) -> Any:
        """Send an event and wait for the server's ack: its argument, a tuple of several, or
        None. Raises :class:`AckTimeout`."""
        ack_id = next(self._ack_ids)
        answer: queue.Queue = queue.Queue()
        self._acks[ack_id] = answer
        self._send(Packet(PacketType.EVENT, namespace, [event, *args], ack_id))
        try:
            args_back = answer.get(timeout=timeout or self.timeout)
        except queue.Empty:
            raise AckTimeout(f"no ack for {event!r}") from None
        finally:
            self._acks.pop(ack_id, None)
        if not args_back:
            return None
        return args_back[0] if len(args_back) == 1 else tuple(args_back)

    def receive(self, namespace: str = "/", timeout: float | None = None) -> ReceivedEvent:
        """The next event the server sent on ``namespace``; raises :class:`TimeoutError`."""
        return self._get(self._queue(namespace), "an event", timeout)

    def get_received(self, namespace: str = "/") -> list[ReceivedEvent]:
        """Every event received on ``namespace`` and not taken yet (waits for none)."""
        events = []
        q = self._queue(namespace)
        while True:
            try:
                events.append(q.get_nowait())
            except queue.Empty:
                return events

    def disconnect(self, namespace: str = "/") -> None:
        """Leave a namespace (the server sees "client namespace disconnect")."""
        self._send(Packet(PacketType.DISCONNECT, namespace))
        self.sids.pop(namespace, None)

    def is_connected(self, namespace: str = "/") -> bool:
        return self.closed_reason is None and namespace in self.sids

    def close(self) -> None:
        """Close the connection (and stop a server this client started)."""
        try:
            self._ws.send(eio.encode(eio.CLOSE))
            self._ws.close()
        except Exception:  # closed already
            pass
        if self._reader.is_alive():
            self._reader.join(self.timeout)
        self._stop_server()

    def __enter__(self) -> TestClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------

    def _stop_server(self) -> None:
        if self._server is not None:
            self._server()
            self._server = None

    def _queue(self, namespace: str) -> queue.Queue:
        with self._lock:
            return self._events.setdefault(namespace, queue.Queue())

    def _get(self, q: queue.Queue, what: str, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                return q.get(timeout=0.05)
            except queue.Empty:
                if self.closed_reason is not None:
                    raise ConnectionClosed(self.closed_reason) from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"waited {timeout or self.timeout} s for {what}") from None

    def _send(self, packet: Packet) -> None:
        if type(packet.data) is list and has_file(packet.data):  # read here, as the server does
            data = read_files(packet.data, self.max_payload)
            packet = Packet(packet.type, packet.namespace, data, packet.id)
        parts = encode(packet)
        self._ws.send("4" + cast(str, parts[0]))  # the text packet, then its attachments
        for attachment in parts[1:]:
            self._ws.send(attachment)

    def _read(self) -> None:
        try:
            while True:
                frame = self._ws.receive()
                if frame is None:
                    break
                incoming = eio.decode(frame)
                if incoming.type is eio.PacketType.PING:
                    self._ws.send(eio.encode(eio.PONG))
                elif incoming.type is eio.PacketType.CLOSE:
                    break
                elif incoming.type is eio.PacketType.MESSAGE:
                    packet = self._decoder.feed(incoming.data)
                    if packet is not None:
                        self._route(packet)
        except Exception as exc:  # the connection ended
            self.closed_reason = f"transport error: {exc!r}"
        if self.closed_reason is None:
            self.closed_reason = "transport close"

    def _route(self, packet: Packet) -> None:
        ptype, nsp = packet.type, packet.namespace
        if ptype in (PacketType.CONNECT, PacketType.CONNECT_ERROR):
            self._connects.setdefault(nsp, queue.Queue()).put(packet)
        elif ptype in (PacketType.EVENT, PacketType.BINARY_EVENT):
            name, *args = packet.data
            self._queue(nsp).put(ReceivedEvent(self, nsp, name, args, packet.id))
        elif ptype in (PacketType.ACK, PacketType.BINARY_ACK):
            answer = None if packet.id is None else self._acks.get(packet.id)
            if answer is not None:
                answer.put(packet.data)
        elif ptype is PacketType.DISCONNECT:
            self.sids.pop(nsp, None)

    def _serve(self, app: Any) -> str:
        """Serve ``app`` on a free loopback port in the background; returns its URL."""
        from gsio.engine.wsgi import as_wsgi, make_server

        wsgi = as_wsgi(app)
        engine = getattr(wsgi, "engine", None)
        if engine is not None and engine.concurrency.name == "gevent":
            server = make_server(wsgi, "127.0.0.1", 0)
            server.start()
            self._server = server.stop
            return f"http://127.0.0.1:{server.server_port}"
        from werkzeug.serving import make_server as werkzeug_server

        server = werkzeug_server("127.0.0.1", 0, wsgi, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self._server = server.shutdown
        return f"http://127.0.0.1:{server.port}"
