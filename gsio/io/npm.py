"""Fetching the client bundle: the ``socket.io-client`` package from the npm registry, its
integrity checked, its browser builds written into a directory (``gsio client fetch``).

The registry's metadata for the version names the tarball and its ``dist.integrity`` (a
sha512); the tarball is refused unless its sha512 is that one, and for the version gsio pins
(:data:`gsio.protocol.bundle.CLIENT_VERSION`) unless that is also the integrity gsio knows.
Only ``package/package.json`` and ``package/dist/<the served files>`` are taken from it.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path
from typing import Any

from gsio.io.bundle import cache_dir
from gsio.protocol.bundle import (
    CLIENT_FILES,
    CLIENT_INTEGRITY,
    CLIENT_VERSION,
    BundleError,
    check_integrity,
)

__all__ = ["DEFAULT_REGISTRY", "registry", "fetch"]

#: npm's public registry; ``npm_config_registry`` (npm's own setting) overrides it.
DEFAULT_REGISTRY = "https://registry.npmjs.org/"
PACKAGE = "socket.io-client"
MAX_TARBALL = 20_000_000  # bytes; 4.8.4's is 1.4 MB
MAX_METADATA = 1_000_000


def registry() -> str:
    """The registry to fetch from: ``$npm_config_registry``, else npm's public one."""
    return os.environ.get("npm_config_registry") or DEFAULT_REGISTRY


def _get(url: str, limit: int, timeout: float) -> bytes:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise BundleError(f"not an http(s) URL: {url[:200]!r}")
    request = urllib.request.Request(url, headers={"Accept": "application/json, */*"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data: bytes = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise BundleError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise BundleError(f"{url}: {reason}") from None
    if len(data) > limit:
        raise BundleError(f"{url}: more than {limit} bytes")
    return data


def _metadata(base: str, version: str, timeout: float) -> tuple[str, str]:
    """The tarball's URL and integrity, from the registry's document for the version."""
    url = base.rstrip("/") + f"/{PACKAGE}/{urllib.parse.quote(version)}"
    try:
        document: Any = json.loads(_get(url, MAX_METADATA, timeout))
        tarball, integrity = document["dist"]["tarball"], document["dist"]["integrity"]
    except (ValueError, KeyError, TypeError):
        raise BundleError(f"{url}: not an npm package document with dist.integrity") from None
    if not isinstance(tarball, str) or not isinstance(integrity, str):
        raise BundleError(f"{url}: not an npm package document with dist.integrity")
    if version == CLIENT_VERSION and integrity != CLIENT_INTEGRITY:
        raise BundleError(
            f"{url}: the registry's integrity {integrity[:100]!r} is not the one gsio knows"
            f" for {PACKAGE} {version} ({CLIENT_INTEGRITY})"
        )
    return tarball, integrity


def _unpack(data: bytes, version: str) -> dict[str, bytes]:
    """The served files and package.json, from a package tarball."""
    wanted = {f"package/dist/{name}": name for name in CLIENT_FILES}
    wanted["package/package.json"] = "package.json"
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                name = wanted.get(member.name)
                if name is None or not member.isfile() or member.size > MAX_TARBALL:
                    continue
                extracted = tar.extractfile(member)
                if extracted is not None:
                    files[name] = extracted.read()
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise BundleError(f"not a package tarball: {exc}") from None
    try:
        package = json.loads(files["package.json"])
    except (KeyError, ValueError):
        raise BundleError("the tarball has no package/package.json") from None
    if not isinstance(package, dict) or (package.get("name"), package.get("version")) != (
        PACKAGE,
        version,
    ):
        raise BundleError(f"the tarball is not {PACKAGE} {version}")
    if "socket.io.min.js" not in files:
        raise BundleError("the tarball has no dist/socket.io.min.js")
    return files


def _write(directory: Path, files: dict[str, bytes]) -> None:
    """Each file written whole then renamed, ``socket.io.min.js`` last: a directory with it is
    complete (:func:`gsio.io.bundle.find_dist` looks for it)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in sorted(files, key=lambda n: n == "socket.io.min.js"):
        part = directory / f".{name}.part"
        part.write_bytes(files[name])
        os.replace(part, directory / name)


def fetch(
    directory: str | os.PathLike[str] | None = None,
    *,
    version: str = CLIENT_VERSION,
    registry_url: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``socket.io-client`` ``version`` from the npm registry, check its integrity,
    and write its browser builds and ``package.json`` into ``directory`` (default: the
    per-user cache that servers look in, :func:`gsio.io.bundle.cache_dir`). Returns the
    directory; raises :class:`~gsio.protocol.bundle.BundleError` (nothing written) if any
    step fails."""
    target = Path(directory).expanduser() if directory is not None else cache_dir(version)
    tarball, integrity = _metadata(registry_url or registry(), version, timeout)
    data = _get(tarball, MAX_TARBALL, timeout)
    check_integrity(data, integrity)
    files = _unpack(data, version)
    try:
        _write(target, files)
    except OSError as exc:
        raise BundleError(f"cannot write into {target}: {exc.strerror or exc}") from None
    return target
