"""What a client sent when it connected: :class:`Handshake`, as Node's ``socket.handshake``."""

from __future__ import annotations

import time
from typing import Any

from gsio.protocol.http import imf_fixdate, parse_query

__all__ = ["Handshake"]


class Handshake:
    """What the client sent when it connected, as Node's ``socket.handshake`` holds it.

    ``headers`` (lower-case names), ``query``, ``auth`` (the CONNECT payload), ``address``,
    ``time`` (an HTTP date), ``issued`` (epoch ms), ``url``, ``secure``, ``xdomain``.
    """

    __slots__ = (
        "headers",
        "query",
        "auth",
        "address",
        "time",
        "issued",
        "url",
        "secure",
        "xdomain",
    )

    def __init__(self, environ: dict, auth: dict) -> None:
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        now = time.time()
        self.headers = headers
        self.query = parse_query(environ)
        self.auth = auth
        self.address = environ.get("REMOTE_ADDR", "")
        self.time = _http_time(now)
        self.issued = int(now * 1000)
        query = environ.get("QUERY_STRING")
        self.url = environ.get("PATH_INFO", "") + ("?" + query if query else "")
        self.secure = environ.get("wsgi.url_scheme") == "https"
        self.xdomain = "origin" in headers

    def as_dict(self) -> dict[str, Any]:
        """The handshake as Node's ``socket.handshake`` object (what a cluster exchanges)."""
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Handshake:
        """A handshake received from another server (missing fields are empty)."""
        handshake = cls.__new__(cls)
        for name in cls.__slots__:
            default: Any = {} if name in ("headers", "query", "auth") else ""
            setattr(handshake, name, values.get(name, default))
        return handshake

    def __repr__(self) -> str:
        return f"Handshake(address={self.address!r}, auth={self.auth!r}, query={self.query!r})"


_time: list[Any] = [-1, ""]  # the last second formatted, and its text


def _http_time(now: float) -> str:
    """``email.utils.formatdate(now, usegmt=True)``, made once a second (it costs more than
    the rest of a handshake's fields together)."""
    second = int(now)
    if _time[0] != second:
        _time[1] = imf_fixdate(second)
        _time[0] = second
    return _time[1]
