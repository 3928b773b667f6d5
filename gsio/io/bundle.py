"""The client bundle's files: where they are, read once and compressed once, in memory.

The files are the official ``socket.io-client`` browser builds (never part of gsio). They are
looked for, in this order:

1. the directory given to ``gsio.Server(serve_client=...)``, or else named by the environment
   variable ``GSIO_CLIENT_DIST`` (only there, when one is named);
2. the per-user cache that ``gsio client fetch`` fills (:mod:`gsio.io.npm`):
   ``$XDG_CACHE_HOME/gsio/socket.io-client-<version>`` (``~/.cache/...`` by default);
3. a ``node_modules/socket.io-client/dist`` (a 4.x) in the working directory or above it.

A named directory may be the ``dist`` directory itself, a package directory holding ``dist``,
or a project holding ``node_modules/socket.io-client``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import zlib
from pathlib import Path
from typing import Callable, Union

from gsio.protocol.bundle import CLIENT_VERSION, ENCODINGS, etag

__all__ = [
    "ENV_DIST",
    "PathArg",
    "ClientBundle",
    "cache_dir",
    "find_dist",
    "missing_hint",
    "read_version",
]

log = logging.getLogger("gsio.bundle")

#: The environment variable naming the directory of the bundle's files.
ENV_DIST = "GSIO_CLIENT_DIST"
_MARKER = "socket.io.min.js"  # a directory holding it holds the bundle

PathArg = Union[str, "os.PathLike[str]"]


def cache_dir(version: str = CLIENT_VERSION) -> Path:
    """Where ``gsio client fetch`` puts a version's files by default."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gsio" / f"socket.io-client-{version}"


def _dist_in(path: Path) -> Path:
    """The directory holding the files, for a directory a user named."""
    for candidate in (path, path / "dist", path / "node_modules" / "socket.io-client" / "dist"):
        if (candidate / _MARKER).is_file():
            return candidate
    return path


def read_version(dist: Path) -> str | None:
    """The ``socket.io-client`` version of a directory of files, from the ``package.json`` in
    it or beside it (npm's layout); None when there is none."""
    for candidate in (dist / "package.json", dist.parent / "package.json"):
        try:
            package = json.loads(candidate.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(package, dict) and package.get("name") == "socket.io-client":
            version = package.get("version")
            return version if isinstance(version, str) else None
    return None


def _discovered(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        dist = directory / "node_modules" / "socket.io-client" / "dist"
        if (dist / _MARKER).is_file() and (read_version(dist) or "").startswith("4."):
            return dist
    return None


def find_dist(named: PathArg | None = None) -> tuple[Path | None, list[Path]]:
    """The directory holding the files (None if there is none) and the places looked at.
    ``named`` (else ``$GSIO_CLIENT_DIST``) is the only place looked at when given."""
    if named is None:
        named = os.environ.get(ENV_DIST) or None
    if named is not None:
        dist = _dist_in(Path(named).expanduser().resolve())
        return (dist if (dist / _MARKER).is_file() else None), [dist]
    cached = cache_dir()
    if (cached / _MARKER).is_file():
        return cached, [cached]
    try:
        cwd = Path.cwd()
    except OSError:  # the working directory was removed
        return None, [cached]
    found = _discovered(cwd)
    return found, [cached, cwd / "node_modules" / "socket.io-client" / "dist"]


def missing_hint(looked_at: list[Path], named: bool = False) -> str:
    """What to do when the files are missing: the text of the log line and of the 404
    (``named``: the one place looked at was named by the user)."""
    where = ", ".join(str(p) for p in looked_at)
    fetch = "python -m gsio client fetch"
    if named:
        fetch += f" --dir {looked_at[0]}"
    return (
        f"The Socket.IO client bundle (socket.io-client {CLIENT_VERSION}) is missing:"
        f" no {_MARKER} in {where}. Fetch it once with:  {fetch}"
        f"  (or point {ENV_DIST} at the dist directory of an installed socket.io-client)"
    )


def _brotli() -> Callable[[bytes], bytes] | None:
    """Brotli's compressor, when Google's ``Brotli`` package (or ``brotlicffi``) is installed."""
    try:
        import brotli
    except ImportError:
        try:
            import brotlicffi as brotli
        except ImportError:
            return None
    # Quality 9, not 11: this runs once per file, but on the event loop; 11 takes 0.4 s for
    # the largest map, 9 takes 25 ms and is still smaller than gzip.
    return lambda data: brotli.compress(data, quality=9)


def _compressors() -> dict[str, Callable[[bytes], bytes]]:
    compressors: dict[str, Callable[[bytes], bytes]] = {
        "gzip": lambda data: gzip.compress(data, compresslevel=9, mtime=0),
        "deflate": lambda data: zlib.compress(data, 9),  # HTTP's deflate is the zlib format
    }
    br = _brotli()
    if br is not None:
        compressors["br"] = br
    return compressors


class _File:
    """One file: its bytes, its ETag, and its compressed variants once made."""

    __slots__ = ("data", "tag", "variants")

    def __init__(self, data: bytes, tag: str) -> None:
        self.data = data
        self.tag = tag
        self.variants: dict[str, bytes] = {"": data}


class ClientBundle:
    """The bundle's files for one server: found on first use (startup never waits or fails for
    them), read once, each compressed variant made once; all kept in memory.

    :param named: the directory to serve them from (else see :func:`find_dist`).
    """

    def __init__(self, named: PathArg | None = None) -> None:
        self.named = named
        self.dist: Path | None = None
        self.version: str | None = None
        self.compressors = _compressors()
        #: The codings offered, in the order preferred.
        self.encodings = tuple(e for e in ENCODINGS if e in self.compressors)
        self._files: dict[str, _File | None] = {}
        self._warned = False

    def locate(self) -> str | None:
        """Find the files if not yet found; None once they are, else the hint saying how to
        get them (logged the first time)."""
        if self.dist is not None:
            return None
        dist, looked_at = find_dist(self.named)
        if dist is None:
            named = self.named is not None or bool(os.environ.get(ENV_DIST))
            hint = missing_hint(looked_at, named)
            if not self._warned:
                self._warned = True
                log.warning("%s", hint)
            return hint
        self.dist = dist
        self.version = read_version(dist)
        log.info("serving socket.io-client %s from %s", self.version or "(version unknown)", dist)
        return None

    def file(self, name: str) -> _File | None:
        """A file of the bundle (``name`` from :data:`gsio.protocol.bundle.CLIENT_FILES`),
        None if the directory does not have it. Call :meth:`locate` first."""
        if name in self._files:
            return self._files[name]
        assert self.dist is not None
        try:
            data = (self.dist / name).read_bytes()
        except OSError:
            self._files[name] = None
            return None
        version = self.version or "sha256-" + hashlib.sha256(data).hexdigest()[:20]
        entry = _File(data, etag(version))
        self._files[name] = entry
        return entry

    def variant(self, entry: _File, encoding: str) -> bytes:
        """``entry``'s bytes in ``encoding`` (``""``: as they are), compressed on first use."""
        body = entry.variants.get(encoding)
        if body is None:
            body = entry.variants[encoding] = self.compressors[encoding](entry.data)
        return body
