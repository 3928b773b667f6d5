"""The client bundle's HTTP rules, pure: which paths are the bundle, the ETag and its 304, the
compressed variant a request accepts, and the check of an npm tarball's integrity.

Node's socket.io serves ``socket.io-client``'s browser builds under its path (``serveClient``);
:class:`gsio.Server` does the same with ``serve_client`` (reading the files is
:mod:`gsio.io.bundle`'s, fetching them :mod:`gsio.io.npm`'s).
"""

from __future__ import annotations

import base64
import hashlib

from gsio.exceptions import GsioError

__all__ = [
    "CLIENT_FILES",
    "CLIENT_VERSION",
    "CLIENT_INTEGRITY",
    "ENCODINGS",
    "BundleError",
    "client_file",
    "etag",
    "not_modified",
    "choose_encoding",
    "file_headers",
    "check_integrity",
]

#: The files served, as Node's socket.io lists them: each browser build and its source map.
CLIENT_FILES = frozenset(
    {
        "socket.io.js",
        "socket.io.js.map",
        "socket.io.min.js",
        "socket.io.min.js.map",
        "socket.io.esm.min.js",
        "socket.io.esm.min.js.map",
        "socket.io.msgpack.min.js",
        "socket.io.msgpack.min.js.map",
    }
)

#: The ``socket.io-client`` release gsio is tested with (tests/js/package-lock.json) and
#: fetches, and its npm ``dist.integrity``: a registry answering another one is refused.
CLIENT_VERSION = "4.8.4"
CLIENT_INTEGRITY = "sha512-7wjKAvVXYOJsbmUgkWbnhPD4bFpkqrUR0++XOjpGFmqDqsqV1CI93VTraeExLxpjxEqrWgFoSRZu1ihjLWfkAA=="

#: The content codings offered, the smallest first (what a tie between equal q-values picks).
ENCODINGS = ("br", "gzip", "deflate")


class BundleError(GsioError):
    """The client bundle could not be fetched or read (a bad download, a wrong integrity)."""


def client_file(path_info: str, base: str) -> str | None:
    """The bundle file a request's path names (``base`` is the Socket.IO path, ``/socket.io/``),
    or None for any other path. The query string is not part of ``path_info``."""
    if not path_info.startswith(base):
        return None
    name = path_info[len(base) :]
    return name if name in CLIENT_FILES else None


def etag(version: str) -> str:
    """The strong ETag naming a bundle version: ``"4.8.4"`` (RFC 9110 quotes it)."""
    return '"' + version.replace('"', "") + '"'


def not_modified(if_none_match: str | None, tag: str) -> bool:
    """Whether a request's If-None-Match matches ``tag``: the tag itself, its weak form
    ``W/"..."`` (a GET compares weakly), one of a list of them, or ``*``."""
    if not if_none_match:
        return False
    for item in if_none_match.split(","):
        item = item.strip()
        if item.startswith("W/"):
            item = item[2:]
        if item == tag or item == "*":
            return True
    return False


def choose_encoding(accept_encoding: str | None, available: tuple[str, ...] = ENCODINGS) -> str:
    """The content coding to answer with: among ``available`` (in the order preferred), the
    one with the highest q-value in ``Accept-Encoding``, ``*`` standing for any; ``""``
    (identity) when none is acceptable or the header is absent."""
    if not accept_encoding:
        return ""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name and (name not in weights or q > weights[name]):
            weights[name] = q
    best, best_q = "", 0.0
    for coding in available:
        q = weights.get(coding, weights.get("*", 0.0))
        if q > best_q:
            best, best_q = coding, q
    return best


def file_headers(name: str, tag: str, encoding: str) -> list[tuple[str, str]]:
    """The headers of a bundle file's 200, as Node's socket.io sends them (and ``Vary:
    Accept-Encoding``, since the body depends on it)."""
    kind = "json" if name.endswith(".map") else "javascript"
    headers = [
        ("Content-Type", f"application/{kind}; charset=utf-8"),
        ("Cache-Control", "public, max-age=0"),
        ("ETag", tag),
        ("Vary", "Accept-Encoding"),
    ]
    if encoding:
        headers.append(("Content-Encoding", encoding))
    return headers


def check_integrity(data: bytes, integrity: str) -> None:
    """Check ``data`` against a Subresource Integrity string as npm's ``dist.integrity`` has it
    (``sha512-<base64>``, several separated by spaces: the strongest present must match);
    raises :class:`BundleError` otherwise."""
    digests: dict[str, list[bytes]] = {}
    for item in integrity.split():
        algorithm, _, value = item.partition("-")
        value = value.split("?", 1)[0]
        if algorithm in ("sha512", "sha384", "sha256"):
            try:
                digests.setdefault(algorithm, []).append(base64.b64decode(value, validate=True))
            except ValueError:
                raise BundleError(f"unreadable integrity {item[:100]!r}") from None
    for algorithm in ("sha512", "sha384", "sha256"):
        if algorithm in digests:
            if hashlib.new(algorithm, data).digest() in digests[algorithm]:
                return
            raise BundleError(f"integrity check failed: the data's {algorithm} is not {integrity}")
    raise BundleError(f"no sha512, sha384 or sha256 in the integrity {integrity[:100]!r}")
