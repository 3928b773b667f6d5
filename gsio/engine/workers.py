"""The workers of one server on one host: which of them owns a session, and moving a request
for it there.

gunicorn's workers (``-w 4``), or ``gsio serve --workers 4``, share one listening socket: any
worker may get any request. A session is owned by the worker that made it, and its id says
which (``<120 random bits>.<tag>``, the tag naming the worker: the id is no easier to guess).
A request for another worker's session is moved to its owner, whole, with its connection
(:mod:`gsio.io.handoff`): the owner serves it as if it had accepted it. Each worker listens for
those on a Unix socket of its own, ``<directory>/<tag>.sock``; the directory is the group's.

When the owner is gone (it died, or was restarted), its socket is too (or refuses): the request
gets the protocol's answer, 400 "Session ID unknown", and the client connects again, to a live
worker. Under servers that hide the connection (not gsio's handler) nothing can be moved: the
same 400.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from typing import Any

from gsio.engine.forward import Forwarding
from gsio.engine.server import Engine, default_sid
from gsio.io.handoff import HandoffListener, OnConnection, worker_tag
from gsio.protocol.http import Response

__all__ = ["WorkerGroup"]

log = logging.getLogger("gsio.workers")

_TAG = re.compile(r"[0-9a-z]{1,16}")

#: The answer to a request moved to its owner: nothing is written for it here.
MOVED = Response(200, [])


class WorkerGroup:
    """This worker's place in a group of workers sharing ``directory``: attach it to the
    engine (:meth:`attach`), and :meth:`listen` for the connections the others pass."""

    def __init__(self, directory: str, tag: str | None = None) -> None:
        self.directory = directory
        self.tag = tag or worker_tag(os.getpid())
        if not _TAG.fullmatch(self.tag):
            raise ValueError(f"a worker tag is 1 to 16 of [0-9a-z], not {self.tag!r}")
        self.path = self.path_of(self.tag)
        self.listener: HandoffListener | None = None
        self.moved = 0  # requests moved to their owner (for the logs and the tests)

    def path_of(self, tag: str) -> str:
        return os.path.join(self.directory, f"{tag}.sock")

    def new_sid(self) -> str:
        return f"{secrets.token_urlsafe(15)}.{self.tag}"

    def owner(self, sid: str) -> str | None:
        """The Unix socket of the worker that owns ``sid``; None if it is this one or none."""
        _, dot, tag = sid.rpartition(".")
        if not dot or tag == self.tag or not _TAG.fullmatch(tag):
            return None
        return self.path_of(tag)

    def attach(self, engine: Engine) -> None:
        """Make ``engine``'s session ids name this worker, and move the requests for other
        workers' sessions to them (an ``unknown_session`` callable the engine had is asked
        about the rest). Requests forwarded across hosts (:mod:`gsio.engine.forward`) then
        name this worker's tag."""
        forwarding = engine.forwarder
        if isinstance(forwarding, Forwarding) and engine.sid_generator == forwarding.new_sid:
            forwarding.retag(self.tag)
        elif engine.sid_generator is not default_sid:
            log.warning("the engine's sid_generator is replaced: session ids name their worker")
        engine.sid_generator = self.new_sid
        previous = engine.unknown_session

        def unknown_session(environ: dict[str, Any], sid: str) -> Response | None:
            response = self.unknown_session(environ, sid)
            if response is None and previous is not None:
                return previous(environ, sid)
            return response

        engine.unknown_session = unknown_session

    def unknown_session(self, environ: dict[str, Any], sid: str) -> Response | None:
        path = self.owner(sid)
        hand_over = environ.get("gsio.hand_over")
        if path is None or hand_over is None or not os.path.exists(path):
            return None
        if not hand_over(path):
            return None
        self.moved += 1
        return MOVED

    def listen(self, engine: Engine, on_connection: OnConnection) -> bool:
        """Receive the connections the other workers pass to this one. False (and an error
        logged) if the directory is not this user's alone: a socket there could be anyone's."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        info = os.stat(self.directory)
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            log.error(
                "%s is not private to this user (mode %o): the workers do not pass requests",
                self.directory,
                info.st_mode & 0o777,
            )
            return False
        self.listener = HandoffListener(engine.concurrency, self.path, on_connection)
        return True

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
