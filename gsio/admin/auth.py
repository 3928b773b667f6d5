"""Who may open the Admin UI: ``auth=False``, or a username and a bcrypt hash of the password.

As ``@socket.io/admin-ui``'s server: a client that logs in with the right credentials gets a
session id in a ``session`` event, and may come back with ``auth: {sessionId}`` instead (the
UI does, as it reloads); anyone else is refused with CONNECT_ERROR ``invalid credentials``.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from typing import Any, Callable

from gsio.exceptions import ConnectionRefused
from gsio.io.concurrency import Concurrency
from gsio.server.conn import Conn

__all__ = ["BasicAuth", "check_auth_option"]

log = logging.getLogger("gsio.admin")

# bcrypt's modular crypt format: $2a$ / $2b$ / $2y$, two digits of cost, 22 + 31 characters.
_BCRYPT_HASH = re.compile(r"^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$")

#: bcrypt reads no more than 72 bytes of a password (bcryptjs truncates; bcrypt 5 refuses).
_BCRYPT_MAX = 72


def _checkpw() -> Callable[[bytes, bytes], bool]:
    try:
        import bcrypt
    except ImportError as exc:
        raise ImportError(
            f"gsio.instrument(auth={{'type': 'basic', ...}}) needs bcrypt:"
            f" pip install 'gsio[admin]' ({exc})"
        ) from exc
    return bcrypt.checkpw


def check_auth_option(auth: object) -> BasicAuth | None:
    """The authentication ``auth`` asks for: None for ``False``; TypeError or ValueError (as
    Node's messages) for anything else than ``False`` or a basic auth dict."""
    if auth is False:
        log.warning("the Admin UI's authentication is disabled: anyone may use it")
        return None
    if not isinstance(auth, dict) or auth.get("type") != "basic":
        raise ValueError(
            "gsio.instrument(auth=...): False, or {'type': 'basic', 'username': ...,"
            " 'password': <bcrypt hash>}"
        )
    username, password = auth.get("username"), auth.get("password")
    if not isinstance(username, str):
        raise ValueError("gsio.instrument(auth=...): the `username` field must be a string")
    if not isinstance(password, (str, bytes)) or not _BCRYPT_HASH.match(
        password.decode("ascii", "replace") if isinstance(password, bytes) else password
    ):
        raise ValueError("the `password` field must be a valid bcrypt hash")
    return BasicAuth(username, password)


class BasicAuth:
    """The admin namespace's middleware for username and password (see the module)."""

    def __init__(self, username: str, password_hash: str | bytes) -> None:
        self.checkpw = _checkpw()  # (now: a missing bcrypt fails at instrument(), not later)
        self.username = username
        self.password_hash = (
            password_hash.encode("ascii") if isinstance(password_hash, str) else password_hash
        )
        #: The session ids handed out (kept as long as the server runs, as Node's
        #: InMemoryStore keeps them).
        self.sessions: set[str] = set()

    def middleware(self, concurrency: Concurrency) -> Callable[[Conn], None]:
        """The middleware for the admin namespace: lets a valid session or valid credentials
        through, refuses anything else."""

        def authenticate(conn: Conn) -> None:
            auth: Any = conn.handshake.auth
            if not isinstance(auth, dict):
                auth = {}
            session_id = auth.get("sessionId")
            if isinstance(session_id, str) and session_id in self.sessions:
                return
            if self.verify(concurrency, auth.get("username"), auth.get("password")):
                session_id = secrets.token_hex(8)
                self.sessions.add(session_id)
                conn.emit("session", session_id)  # (sent right after CONNECT)
                return
            log.info("%s: the Admin UI refused a login (invalid credentials)", conn.id)
            raise ConnectionRefused("invalid credentials")

        return authenticate

    def verify(self, concurrency: Concurrency, username: object, password: object) -> bool:
        """True if ``username`` and ``password`` are the right ones. bcrypt costs ~100 ms of
        CPU (and releases the GIL): it runs in an OS thread, so other connections go on."""
        if not isinstance(username, str) or not isinstance(password, str):
            return False
        if not hmac.compare_digest(username.encode(), self.username.encode()):
            return False
        secret = password.encode()[:_BCRYPT_MAX]
        try:
            return bool(concurrency.run_in_thread(self.checkpw, secret, self.password_hash))
        except ValueError:  # (a hash bcrypt cannot read: refused, as a wrong password)
            log.warning("the Admin UI's password hash could not be checked", exc_info=True)
            return False
