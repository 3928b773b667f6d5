"""Long-polling bodies of Engine.IO v3 sessions (socket.io-client 2.x): what
:mod:`gsio.engine.polling` answers and reads for them, XHR and JSONP alike.

A GET is answered with a v3 payload (:func:`gsio.protocol.engineio_v3.encode_payload`: binary,
``application/octet-stream``, when the client supports binary and a packet is binary), or with a
script when the request has a ``j`` query parameter (:mod:`gsio.protocol.jsonp`); a POST holds
a text payload, a binary one (``application/octet-stream``), or a form with the payload in
``d`` (JSONP). Every polling path goes through here: gsio's WSGI transport, its event-loop
polling and the forwarded requests (both through :meth:`gsio.Engine.handle_polling`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from gsio.exceptions import ProtocolError
from gsio.protocol import engineio_v3, jsonp
from gsio.protocol.engineio import Packet
from gsio.protocol.http import Response, error_response, parse_query

__all__ = ["check_request", "encode_body", "decode_body"]

log = logging.getLogger("gsio.engine")


def _index(environ: dict[str, Any]) -> str | None:
    """The request's JSONP index (``j``), checked; None for an XHR request."""
    if "j=" not in environ.get("QUERY_STRING", ""):
        return None
    j = parse_query(environ).get("j")
    return None if j is None else jsonp.jsonp_index(j)


def check_request(environ: dict[str, Any]) -> Response | None:
    """None for a request of a v3 session that may go on; the 400 answer (logged) for one
    with an invalid JSONP index."""
    try:
        _index(environ)
    except ProtocolError as exc:
        log.info("bad request (%s): %s", exc.message, environ.get("QUERY_STRING"))
        return error_response(exc.code, exc.status)
    return None


def encode_body(
    environ: dict[str, Any], packets: Sequence[Packet], supports_binary: bool
) -> tuple[bytes, str]:
    """The body of the answer to a GET (``environ``'s, checked by :func:`check_request`) and
    its Content-Type."""
    index = _index(environ)
    if index is not None:
        return jsonp.encode_jsonp(packets, index)
    return engineio_v3.encode_payload(packets, supports_binary=supports_binary)


def decode_body(environ: dict[str, Any], body: bytes, binary: bool) -> list[Packet]:
    """The packets of a POST: a JSONP form, a binary payload (``binary``: it came as
    ``application/octet-stream``) or a text one; :class:`ProtocolError` if malformed."""
    if _index(environ) is not None:
        return jsonp.decode_jsonp_body(body)
    return engineio_v3.decode_payload(body, binary=binary)
