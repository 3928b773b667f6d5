"""``gsio client fetch`` (gsio/io/npm.py): the socket.io-client tarball from an npm registry,
refused unless its sha512 is the registry's ``dist.integrity`` (and, for the version gsio
pins, the one gsio knows); only the package's browser builds and package.json are written.

A registry on 127.0.0.1 serves a tarball made here; one test fetches the real package from
the npm registry and compares it with tests/js/node_modules (the same release).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gsio.io.npm import fetch
from gsio.protocol.bundle import CLIENT_FILES, CLIENT_VERSION, BundleError

ROOT = Path(__file__).resolve().parent.parent.parent
DIST = ROOT / "tests" / "js" / "node_modules" / "socket.io-client" / "dist"
VERSION = "0.0.0-test"


def tarball(version: str = VERSION, extra: dict[str, bytes] | None = None) -> bytes:
    members = {
        "package/package.json": json.dumps(
            {"name": "socket.io-client", "version": version}
        ).encode(),
        "package/README.md": b"not taken",
        **{f"package/dist/{name}": f"// {name} {version}\n".encode() for name in CLIENT_FILES},
        **(extra or {}),
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def sha512(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class Registry:
    """An npm registry on 127.0.0.1 with one package document and one tarball."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.requests: list[str] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                registry.requests.append(self.path)
                body = registry.documents.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, version: str, data: bytes, integrity: str) -> None:
        document = {
            "name": "socket.io-client",
            "version": version,
            "dist": {"tarball": f"{self.url}t/{version}.tgz", "integrity": integrity},
        }
        self.documents[f"/socket.io-client/{version}"] = json.dumps(document).encode()
        self.documents[f"/t/{version}.tgz"] = data

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def registry():
    server = Registry()
    yield server
    server.close()


def test_fetch_checks_the_sha512_and_writes_the_builds(registry, tmp_path):
    data = tarball(extra={"package/dist/../../../escape.js": b"no"})
    registry.publish(VERSION, data, sha512(data))
    target = fetch(tmp_path / "out", version=VERSION, registry_url=registry.url)
    assert target == tmp_path / "out"
    assert sorted(p.name for p in target.iterdir()) == sorted([*CLIENT_FILES, "package.json"])
    assert (target / "socket.io.min.js").read_bytes() == f"// socket.io.min.js {VERSION}\n".encode()
    assert not (tmp_path / "escape.js").exists()


def test_a_wrong_sha512_is_refused_and_nothing_written(registry, tmp_path):
    data = tarball()
    registry.publish(VERSION, data, sha512(data + b"tampered"))
    with pytest.raises(BundleError, match="integrity check failed"):
        fetch(tmp_path / "out", version=VERSION, registry_url=registry.url)
    assert not (tmp_path / "out").exists()


def test_the_pinned_version_needs_the_integrity_gsio_knows(registry, tmp_path):
    """A registry that serves another tarball for gsio's version, with a matching integrity
    of its own, is refused before the tarball is downloaded."""
    data = tarball(CLIENT_VERSION)
    registry.publish(CLIENT_VERSION, data, sha512(data))
    with pytest.raises(BundleError, match="not the one gsio knows"):
        fetch(tmp_path / "out", registry_url=registry.url)
    assert registry.requests == [f"/socket.io-client/{CLIENT_VERSION}"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "data, says",
    [
        (b"not a tarball", "not a package tarball"),
        (tarball("9.9.9"), "the tarball is not socket.io-client 0.0.0-test"),
    ],
)
def test_a_bad_tarball_is_refused(registry, tmp_path, data, says):
    registry.publish(VERSION, data, sha512(data))
    with pytest.raises(BundleError, match=says):
        fetch(tmp_path / "out", version=VERSION, registry_url=registry.url)
    assert not (tmp_path / "out").exists()


def test_an_unknown_version_is_one_error(registry, tmp_path):
    with pytest.raises(BundleError, match="HTTP 404"):
        fetch(tmp_path / "out", version="0.0.1", registry_url=registry.url)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gsio", "client", "fetch", *args],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command(registry, tmp_path):
    good, bad = tarball(), tarball()
    registry.publish(VERSION, good, sha512(good))
    proc = run_cli("--version", VERSION, "--registry", registry.url, "--dir", str(tmp_path / "a"))
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert (
        proc.stdout
        == f"fetched socket.io-client {VERSION} (integrity checked) into {tmp_path / 'a'}\n"
    )
    registry.publish(VERSION, bad, sha512(b"other"))
    # the registry from npm's own setting, the cache directory by default
    proc = run_cli(
        "--version",
        VERSION,
        env={"npm_config_registry": registry.url, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert (proc.returncode, proc.stdout) == (1, ""), proc.stdout
    assert proc.stderr.startswith("gsio client fetch: error: integrity check failed")
    assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "cache").exists()


def test_a_real_fetch_from_the_npm_registry(tmp_path):
    """The pinned release from the npm registry: the same bytes as tests/js's npm install, in
    the per-user cache that a server looks in."""
    proc = run_cli(env={"XDG_CACHE_HOME": str(tmp_path), "npm_config_registry": ""})
    assert proc.returncode == 0, proc.stderr
    target = tmp_path / "gsio" / f"socket.io-client-{CLIENT_VERSION}"
    for name in CLIENT_FILES:
        assert (target / name).read_bytes() == (DIST / name).read_bytes(), name
    assert json.loads((target / "package.json").read_text())["version"] == CLIENT_VERSION
