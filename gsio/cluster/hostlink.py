"""The in-host bus: the workers of one host publishing to each other over Unix sockets, with
the surface of :class:`~gsio.cluster.link.RedisLink`, so that the Redis adapter (and all it
does: broadcasts, rooms, acks, ``fetch_sockets``, ``server_side_emit``) runs on it unchanged.

There is no broker. Each worker listens on ``<directory>/<tag>.bus`` and keeps one connection
to each other worker's socket there; a publication is sent on each of them (the receiver
matches it against its own channels and patterns, as Redis would) and never to itself, as the
adapters ignore their own messages anyway.

- **Publishing never blocks the caller**: each peer has a queue and a greenlet (or thread) of
  its own that writes what is queued, in order, so one publisher's messages reach each peer in
  the order they were published (the adapters rely on it, as they do on Redis). A peer that
  stops reading holds up only its own queue (``max_pending`` frames, the oldest dropped past it).
- **Peers**: the ``*.bus`` sockets of the directory that accept a connection: scanned when the
  link starts and every ``rescan`` seconds, and a worker that connects here is connected back
  at once. A peer whose connection breaks (the worker died, or was restarted) is dropped
  quietly (one INFO line) and its queue with it; a socket file left by a dead worker is removed.
- **Counting servers** (``numsub``, for ``fetch_sockets`` and ``server_side_call``): each peer
  tells the workers connected to it which channels it subscribes to, at once and after each
  change (:mod:`gsio.cluster.hostwire`).

One host only: a Unix socket does not leave it. Several hosts need the Redis adapter.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import socket
from typing import TYPE_CHECKING, Any, Callable

from gsio.cluster import hostwire as wire
from gsio.exceptions import ProtocolError
from gsio.io.handoff import worker_tag

if TYPE_CHECKING:
    from gsio.io.concurrency import Concurrency

__all__ = ["HostLink"]

log = logging.getLogger("gsio.hostbus")

Handler = Callable[[str, bytes], None]

_TAG = re.compile(r"[0-9A-Za-z_-]{1,64}")
_SUFFIX = ".bus"
_BATCH = 512  # frames per write
_READ = 262144


class _Peer:
    """Another worker: the connection to its socket, what is queued for it, what it
    subscribes to."""

    def __init__(self, tag: str, path: str, concurrency: Concurrency) -> None:
        self.tag = tag
        self.path = path
        self.outbox: collections.deque[bytes] = collections.deque()
        self.wake = concurrency.event()
        self.sock: Any = None
        self.channels: set[str] = set()
        self.ready = False  # its subscriptions came: it counts as a server
        self.gone = False
        self.dropped = 0


class HostLink:
    """Publications and subscriptions between the workers sharing ``directory`` (a directory
    private to this user), this one named ``tag`` (its pid in base 36 by default).

    :param max_pending: frames held for one peer that does not read them.
    :param rescan: seconds between two looks for new peers in the directory.
    """

    def __init__(
        self,
        directory: str,
        concurrency: Concurrency,
        tag: str | None = None,
        max_pending: int = 10_000,
        rescan: float = 2.0,
    ) -> None:
        self.directory = directory
        self.c = concurrency
        self.tag = tag or worker_tag(os.getpid())
        if not _TAG.fullmatch(self.tag):
            raise ValueError(f"a host bus tag is 1 to 64 of [0-9A-Za-z_-], not {self.tag!r}")
        self.path = os.path.join(directory, self.tag + _SUFFIX)
        self.max_pending = max_pending
        self.rescan = rescan
        #: What a request may raise (none: there is no broker to lose).
        self.errors: tuple[type[Exception], ...] = (OSError,)
        self._channels: dict[str, Handler] = {}
        self._patterns: dict[str, tuple[Callable[[str], bool], Handler]] = {}
        self._peers: dict[str, _Peer] = {}
        self._incoming: dict[Any, int] = {}  # accepted connection -> subscriptions' version sent
        self._version = 0
        self._announce = concurrency.event()
        self._stop = concurrency.event()
        self._closed = False
        self._listener = self._listen()
        self._workers = [
            concurrency.spawn(self._accept),
            concurrency.spawn(self._announcer),
            concurrency.spawn(self._rescan_loop),
        ]

    def _listen(self) -> Any:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        info = os.stat(self.directory)
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise PermissionError(
                f"{self.directory} is not private to this user (mode {info.st_mode & 0o777:o})"
            )
        # Bound under another name, and renamed once it listens: a peer that finds the socket
        # and is refused knows its worker is gone (and may remove it).
        fresh = os.path.join(self.directory, f".{self.tag}.new")
        try:
            os.unlink(fresh)
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(fresh)
        os.chmod(fresh, 0o600)
        sock.listen(128)
        os.replace(fresh, self.path)
        return sock

    # -- subscriptions ---------------------------------------------------------------------

    def subscribe(self, channels: list[str], patterns: list[str], handler: Handler) -> None:
        """Hand publications on ``channels`` and ``patterns`` to ``handler(channel, data)``."""
        for channel in channels:
            self._channels[channel] = handler
        for pattern in patterns:
            self._patterns[pattern] = (wire.glob_matcher(pattern), handler)
        self._changed()

    def unsubscribe(self, channels: list[str], patterns: list[str]) -> None:
        for channel in channels:
            self._channels.pop(channel, None)
        for pattern in patterns:
            self._patterns.pop(pattern, None)
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self._set(self._announce)

    def numsub(self, channel: str) -> int:
        """How many workers subscribe to ``channel``, this one included."""
        count = 1 if channel in self._channels else 0
        for peer in tuple(self._peers.values()):
            if peer.ready and channel in peer.channels:
                count += 1
        return count

    @property
    def down(self) -> bool:
        """Always False: there is no broker to lose (a peer that goes is just dropped)."""
        return False

    @property
    def peers(self) -> list[str]:
        """The tags of the peers connected (or connecting) now."""
        return list(self._peers)

    # -- publishing --------------------------------------------------------------------------

    def publish(self, channel: str, data: bytes) -> None:
        """Queue ``data`` for ``channel`` to every other worker; never blocks."""
        frame = wire.encode(wire.PUBLISH, channel, data)
        for peer in tuple(self._peers.values()):
            outbox = peer.outbox
            outbox.append(frame)
            if len(outbox) > self.max_pending:
                outbox.popleft()
                if not peer.dropped:
                    log.warning("host bus: worker %s does not read; dropping", peer.tag)
                peer.dropped += 1
            self._set(peer.wake)

    def _set(self, event: Any) -> None:
        if self.c.in_home_thread():
            event.set()
        else:
            self.c.call_soon_threadsafe(event.set)

    def _add_peer(self, tag: str) -> None:
        if self._closed or tag == self.tag or tag in self._peers:
            return
        peer = _Peer(tag, os.path.join(self.directory, tag + _SUFFIX), self.c)
        self._peers[tag] = peer
        self.c.spawn(self._write_peer, peer)

    def _write_peer(self, peer: _Peer) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(peer.path)
        except OSError as exc:
            sock.close()
            self._drop(peer, None)
            if isinstance(exc, ConnectionRefusedError):
                _remove_if_dead(peer.tag, peer.path)
            return
        peer.sock = sock
        self.c.spawn(self._read_peer, peer)
        outbox = peer.outbox
        reason: Exception | None = None
        try:
            sock.sendall(wire.encode(wire.HELLO, self.tag))
            while not peer.gone:
                if not outbox:
                    peer.wake.wait()
                    peer.wake.clear()
                    continue
                if len(outbox) == 1:
                    sock.sendall(outbox.popleft())
                else:
                    sock.sendall(
                        b"".join([outbox.popleft() for _ in range(min(len(outbox), _BATCH))])
                    )
                if peer.dropped:
                    log.warning("host bus: %d messages to %s were dropped", peer.dropped, peer.tag)
                    peer.dropped = 0
        except OSError as exc:
            reason = exc
        finally:
            self._drop(peer, reason)

    def _read_peer(self, peer: _Peer) -> None:
        """The peer's answers on our connection: its subscriptions."""
        reader = wire.FrameReader()
        reason: Exception | None = None
        try:
            while not peer.gone:
                data = peer.sock.recv(_READ)
                if not data:
                    break
                for kind, _, body in reader.feed(data):
                    if kind == wire.SUBS:
                        peer.channels = wire.decode_subs(body)[0]
                        peer.ready = True
        except (OSError, ProtocolError) as exc:
            reason = exc
        finally:
            self._drop(peer, reason)

    def _drop(self, peer: _Peer, reason: Exception | None) -> None:
        if peer.gone:
            return
        peer.gone = True
        if self._peers.get(peer.tag) is peer:
            del self._peers[peer.tag]
        peer.outbox.clear()
        peer.wake.set()
        if peer.sock is not None:
            _close(peer.sock)
        if peer.ready and not self._closed:
            log.info("host bus: worker %s is gone (%s)", peer.tag, reason or "closed")

    # -- receiving ---------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                if self._closed:
                    return
                log.exception("host bus: accepting a connection failed")
                self.c.sleep(0.1)
                continue
            self.c.spawn(self._serve, conn)

    def _serve(self, conn: Any) -> None:
        """A peer's connection to this worker: its hello, then its publications."""
        reader = wire.FrameReader()
        hello = False
        try:
            while not self._closed:
                data = conn.recv(_READ)
                if not data:
                    break
                for kind, channel, body in reader.feed(data):
                    if kind == wire.PUBLISH:
                        self._dispatch(channel, body)
                    elif kind == wire.HELLO and not hello and _TAG.fullmatch(channel):
                        hello = True
                        self._incoming[conn] = -1
                        self._set(self._announce)
                        self._add_peer(channel)  # connect back at once
        except ProtocolError as exc:
            log.warning("host bus: dropped a connection: %s", exc.message)
        except OSError:
            pass
        finally:
            self._incoming.pop(conn, None)
            _close(conn)

    def _dispatch(self, channel: str, data: bytes) -> None:
        handler = self._channels.get(channel)
        if handler is not None:
            self._call(handler, channel, data)
        for match, handler in tuple(self._patterns.values()):
            if match(channel):
                self._call(handler, channel, data)

    def _call(self, handler: Handler, channel: str, data: bytes) -> None:
        try:
            handler(channel, data)
        except Exception:  # a bug in a handler must not stop the traffic
            log.exception("handling a message on %s failed", channel)

    def _announcer(self) -> None:
        """Tell the workers connected here what this one subscribes to (one writer for all
        of them, so that two announcements never interleave on a connection)."""
        while True:
            self._announce.wait()
            self._announce.clear()
            if self._closed:
                return
            version = self._version
            frame = b""
            for conn, sent in tuple(self._incoming.items()):
                if sent == version:
                    continue
                frame = frame or wire.encode_subs(sorted(self._channels), sorted(self._patterns))
                try:
                    conn.sendall(frame)
                except OSError:
                    continue  # its reader notices
                if conn in self._incoming:
                    self._incoming[conn] = version

    def _rescan_loop(self) -> None:
        while not self._closed:
            self.scan()
            self._stop.wait(self.rescan)

    def scan(self) -> None:
        """Connect to the workers of the directory not connected yet."""
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        for name in names:
            if name.endswith(_SUFFIX):
                tag = name[: -len(_SUFFIX)]
                if _TAG.fullmatch(tag) and tag not in self._peers:
                    self._add_peer(tag)

    def close(self, flush_timeout: float = 2.0) -> None:
        """Send what is queued (waiting up to ``flush_timeout``), then stop."""
        if self._closed:
            return
        deadline = self.c.monotonic() + flush_timeout
        while any(p.outbox for p in tuple(self._peers.values())) and self.c.monotonic() < deadline:
            self.c.sleep(0.01)
        self._closed = True
        self._stop.set()
        self._announce.set()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        _close(self._listener)
        for peer in tuple(self._peers.values()):
            self._drop(peer, None)
        for conn in tuple(self._incoming):
            _close(conn)


def _close(sock: Any) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _remove_if_dead(tag: str, path: str) -> None:
    """Remove the socket that refused a connection if its worker is not running (a tag that
    is a pid in base 36 names a process that is gone)."""
    try:
        pid = int(tag, 36)
        os.kill(pid, 0)
    except (ValueError, OverflowError, PermissionError):
        return  # not a pid, or another user's process
    except ProcessLookupError:
        try:
            os.unlink(path)
        except OSError:
            pass
