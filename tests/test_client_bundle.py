"""``Server(serve_client=True)``: socket.io-client's browser builds under the Socket.IO path,
as Node's socket.io serves them (``serveClient``), checked on the wire; and pages in headless
Chromium that load ``/socket.io/socket.io.min.js`` from gsio (a plain page, and ``gsio demo``).

The files come from ``tests/js/node_modules/socket.io-client/dist`` (``npm ci --prefix
tests/js``), the same release gsio pins (``gsio.protocol.bundle.CLIENT_VERSION``).
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import socket
import zlib
from pathlib import Path

import brotli
import pytest
from test_browser import chromium_or_fail

from gsio.io.bundle import ClientBundle
from gsio.protocol.bundle import CLIENT_FILES, CLIENT_VERSION

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "tests" / "js" / "node_modules" / "socket.io-client" / "dist"
BROWSER_TIMEOUT = 90


@pytest.fixture(scope="module", autouse=True)
def _dist():
    if not (DIST / "socket.io.min.js").is_file():
        pytest.fail(f"{DIST} is missing: npm ci --prefix tests/js", pytrace=False)
    version = json.loads((DIST.parent / "package.json").read_text())["version"]
    assert version == CLIENT_VERSION, "tests/js has another socket.io-client than gsio pins"


def raw_get(port: int, path: str, *headers: str) -> tuple[str, list[str], bytes]:
    """GET ``path``: the status line, the header lines (without Date) and the body."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(h + "\r\n" for h in headers)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode() + b"\r\n")
        data = bytearray()
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        if b"\r\ncontent-length:" in data.split(b"\r\n\r\n")[0].lower():
            end = data.index(b"\r\n\r\n") + 4
            length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", data[:end]).group(1))
            while len(data) < end + length:
                chunk = sock.recv(65536)
                assert chunk, data
                data += chunk
        # else a 304, whose head is all of it (no Content-Length, no body)
        response = bytes(data)
    head, _, body = response.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    skip = ("Date: ", "Server: ", "Connection: ")  # as the WSGI server has it
    return status, [line for line in lines if not line.startswith(skip)], body


@pytest.fixture
def bundle_server(start_server):
    def start(*args: str, kind: str = "gsio", env: dict[str, str] | None = None):
        return start_server("bundle_app", *args, kind=kind, env=env)

    return start


@pytest.mark.parametrize("kind", ["gsio", "werkzeug"])
def test_headers_and_bytes(bundle_server, kind):
    server = bundle_server("--serve-client", str(DIST), kind=kind)
    status, lines, body = raw_get(server.port, "/socket.io/socket.io.min.js?v=1&x")
    assert status == "HTTP/1.1 200 OK"
    assert lines[:5] == [
        "Content-Type: application/javascript; charset=utf-8",
        "Cache-Control: public, max-age=0",
        f'ETag: "{CLIENT_VERSION}"',
        "Vary: Accept-Encoding",
        f"Content-Length: {len(body)}",
    ], lines
    assert body == (DIST / "socket.io.min.js").read_bytes()


@pytest.mark.parametrize("name", sorted(CLIENT_FILES))
def test_each_file_and_map(bundle_server, name):
    server = bundle_server("--serve-client", str(DIST))
    status, lines, body = raw_get(server.port, f"/socket.io/{name}")
    kind = "json" if name.endswith(".map") else "javascript"
    assert status == "HTTP/1.1 200 OK"
    assert lines[0] == f"Content-Type: application/{kind}; charset=utf-8"
    assert body == (DIST / name).read_bytes()
    if name.endswith(".map"):
        assert json.loads(body)["version"] == 3


@pytest.mark.parametrize("tag", [f'"{CLIENT_VERSION}"', f'W/"{CLIENT_VERSION}"'])
def test_304_on_a_matching_if_none_match(bundle_server, tag):
    server = bundle_server("--serve-client", str(DIST))
    status, lines, body = raw_get(server.port, "/socket.io/socket.io.js", f"If-None-Match: {tag}")
    assert status == "HTTP/1.1 304 Not Modified"
    assert body == b""
    assert not any(line.lower().startswith("content-length") for line in lines), lines
    assert f'ETag: "{CLIENT_VERSION}"' in lines
    status, _, body = raw_get(server.port, "/socket.io/socket.io.js", 'If-None-Match: "4.0.0"')
    assert status == "HTTP/1.1 200 OK" and body == (DIST / "socket.io.js").read_bytes()


DECOMPRESS = {"br": brotli.decompress, "gzip": gzip.decompress, "deflate": zlib.decompress}


@pytest.mark.parametrize(
    "accept, encoding",
    [
        ("br", "br"),
        ("gzip", "gzip"),
        ("deflate", "deflate"),
        ("gzip, deflate, br, zstd", "br"),  # Chromium's: equal q-values, the smallest wins
        ("gzip;q=1, br;q=0.5", "gzip"),
        ("br;q=0, deflate", "deflate"),
        ("*", "br"),
        ("identity", ""),
        ("zstd", ""),
    ],
)
def test_compression(bundle_server, accept, encoding):
    server = bundle_server("--serve-client", str(DIST))
    original = (DIST / "socket.io.js").read_bytes()
    for _ in range(2):  # the second answer comes from what the first compressed
        status, lines, body = raw_get(
            server.port, "/socket.io/socket.io.js", f"Accept-Encoding: {accept}"
        )
        assert status == "HTTP/1.1 200 OK"
        if encoding:
            assert f"Content-Encoding: {encoding}" in lines
            assert len(body) < len(original) // 3
            assert DECOMPRESS[encoding](body) == original
        else:
            assert not any(line.startswith("Content-Encoding") for line in lines)
            assert body == original


def test_compressed_once_and_kept():
    bundle = ClientBundle(DIST)
    calls = []
    gzip_compress = bundle.compressors["gzip"]
    bundle.compressors["gzip"] = lambda data: calls.append(1) or gzip_compress(data)
    assert bundle.locate() is None
    entry = bundle.file("socket.io.min.js")
    first = bundle.variant(entry, "gzip")
    assert bundle.variant(bundle.file("socket.io.min.js"), "gzip") is first
    assert calls == [1]
    assert bundle.encodings == ("br", "gzip", "deflate")


@pytest.mark.parametrize(
    "path",
    [
        "/socket.io/socket.io.js.gz",
        "/socket.io/index.html",
        "/socket.io/dist/socket.io.js",
        "/socket.io/socket.io.min.js/",
        "/socket.io.js",
        "/other/socket.io.js",
    ],
)
def test_a_path_not_on_the_list_falls_through(bundle_server, path):
    server = bundle_server("--serve-client", str(DIST))
    status, _, body = server.request("GET", path)
    assert (status, body) == (200, f"fallback {path}".encode())


def test_serve_client_false_falls_through(bundle_server):
    server = bundle_server("--serve-client", "off")
    status, _, body = server.request("GET", "/socket.io/socket.io.js")
    assert (status, body) == (200, b"fallback /socket.io/socket.io.js")


def test_the_engine_path_is_unchanged(bundle_server):
    server = bundle_server("--serve-client", str(DIST))
    status, _, body = server.request("GET", "/socket.io/?EIO=4&transport=polling")
    assert status == 200 and body.startswith(b'0{"sid":')


def test_cors_as_configured(bundle_server):
    server = bundle_server("--serve-client", str(DIST), "--cors", "http://app.example")
    _, lines, _ = raw_get(server.port, "/socket.io/socket.io.js", "Origin: http://app.example")
    assert "Access-Control-Allow-Origin: http://app.example" in lines
    _, lines, _ = raw_get(server.port, "/socket.io/socket.io.js", "Origin: http://other.example")
    assert not any(line.startswith("Access-Control") for line in lines)
    status, headers, _ = server.request(
        "OPTIONS", "/socket.io/socket.io.js", headers={"Origin": "http://app.example"}
    )
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "http://app.example"


def test_missing_files_404_with_the_hint_logged_once(bundle_server, tmp_path):
    server = bundle_server("--serve-client", str(tmp_path))
    for name in ("socket.io.js", "socket.io.min.js", "socket.io.js"):
        status, headers, body = server.request("GET", f"/socket.io/{name}")
        assert status == 404 and headers["Content-Type"] == "text/plain; charset=utf-8"
        assert f"python -m gsio client fetch --dir {tmp_path}" in body.decode(), body
    assert server.output().count("client bundle (socket.io-client") == 1, server.output()
    # Socket.IO itself is served all the same.
    assert server.request("GET", "/socket.io/?EIO=4&transport=polling")[0] == 200
    # Files put there later are served without a restart.
    for name in CLIENT_FILES:
        shutil.copy(DIST / name, tmp_path / name)
    status, _, body = server.request("GET", "/socket.io/socket.io.min.js")
    assert status == 200 and body == (DIST / "socket.io.min.js").read_bytes()


def test_found_in_the_cache_by_default(bundle_server, tmp_path):
    """No directory named: the per-user cache that ``gsio client fetch`` fills."""
    cached = tmp_path / "gsio" / f"socket.io-client-{CLIENT_VERSION}"
    cached.mkdir(parents=True)
    for name in CLIENT_FILES:
        shutil.copy(DIST / name, cached / name)
    shutil.copy(DIST.parent / "package.json", cached / "package.json")
    server = bundle_server(env={"XDG_CACHE_HOME": str(tmp_path), "GSIO_CLIENT_DIST": ""})
    status, headers, body = server.request("GET", "/socket.io/socket.io.esm.min.js")
    assert status == 200 and headers["ETag"] == f'"{CLIENT_VERSION}"'
    assert body == (DIST / "socket.io.esm.min.js").read_bytes()


def test_a_flask_page_can_use_the_bundle(start_server):
    """``<script src="/socket.io/socket.io.js">`` beside a Flask app (gsio.flask.init_app),
    the files named by ``GSIO_CLIENT_DIST`` (here the npm package of tests/js)."""
    server = start_server("flask_app", env={"GSIO_CLIENT_DIST": str(DIST.parent.parent.parent)})
    status, headers, body = server.request("GET", "/socket.io/socket.io.js")
    assert status == 200 and headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert body == (DIST / "socket.io.js").read_bytes()
    assert server.request("GET", "/hello")[2] == b"hello from deploy_flask_test"


def test_chromium_loads_the_bundle_from_gsio_and_connects(bundle_server, request, run_node):
    chromium_or_fail(request)
    server = bundle_server("--serve-client", str(DIST))
    out = run_node("browser_bundle", "page", f"{server.url}/page", timeout=BROWSER_TIMEOUT)
    assert out["errors"] == [], out
    assert ["/socket.io/socket.io.min.js", 200] in out["scripts"], out
    assert out["result"]["echo"] == "from the page", out
    assert len(out["result"]["id"]) == 20, out
