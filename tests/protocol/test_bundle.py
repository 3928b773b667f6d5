"""The client bundle's pure rules (gsio/protocol/bundle.py): the file list, the ETag and its
304, the compressed variant a request accepts, the headers, an npm integrity check."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsio.protocol.bundle import (
    CLIENT_FILES,
    BundleError,
    check_integrity,
    choose_encoding,
    client_file,
    etag,
    file_headers,
    not_modified,
)


def test_the_list_is_nodes():
    builds = [
        "socket.io.js",
        "socket.io.min.js",
        "socket.io.esm.min.js",
        "socket.io.msgpack.min.js",
    ]
    assert CLIENT_FILES == {*builds, *(b + ".map" for b in builds)}


@pytest.mark.parametrize("name", sorted(CLIENT_FILES))
def test_each_file_is_served_under_the_path(name):
    assert client_file(f"/socket.io/{name}", "/socket.io/") == name
    assert client_file(f"/chat/io/{name}", "/chat/io/") == name
    assert client_file(f"/socket.io/{name}", "/chat/") is None


@pytest.mark.parametrize(
    "path",
    [
        "/socket.io/",
        "/socket.io",
        "/socket.io.js",
        "/socket.io/socket.io.js.gz",
        "/socket.io/socket.io.JS",
        "/socket.io//socket.io.js",
        "/socket.io/../socket.io.js",
        "/socket.io/dist/socket.io.js",
        "/socket.io/socket.io.min.js/",
        "/x/socket.io/socket.io.js",
    ],
)
def test_nothing_else_is(path):
    assert client_file(path, "/socket.io/") is None


def test_etag_is_the_quoted_version():
    assert etag("4.8.4") == '"4.8.4"'
    assert etag('bad"one') == '"badone"'


@pytest.mark.parametrize(
    "header, matches",
    [
        ('"4.8.4"', True),
        ('W/"4.8.4"', True),
        ('"4.8.3", W/"4.8.4"', True),
        ("*", True),
        ('"4.8.3"', False),
        ("4.8.4", False),
        ('W/"4.8.3"', False),
        ('"4.8.4 "', False),
        ("", False),
        (None, False),
    ],
)
def test_not_modified(header, matches):
    assert not_modified(header, '"4.8.4"') is matches


@pytest.mark.parametrize(
    "accept, chosen",
    [
        (None, ""),
        ("", ""),
        ("identity", ""),
        ("br", "br"),
        ("gzip", "gzip"),
        ("deflate", "deflate"),
        ("GZIP", "gzip"),
        ("gzip, deflate, br, zstd", "br"),
        ("deflate, gzip", "gzip"),
        ("gzip;q=1.0, br;q=0.9", "gzip"),
        ("br;q=0, gzip;q=0.1", "gzip"),
        ("br;q=0, gzip;q=0, deflate;q=0", ""),
        ("*", "br"),
        ("*;q=0.5, gzip", "gzip"),
        ("*, br;q=0", "gzip"),
        ("gzip;q=bad, deflate", "deflate"),
        (" br ; q=0.8 , gzip ; q=0.8", "br"),
    ],
)
def test_choose_encoding(accept, chosen):
    assert choose_encoding(accept) == chosen


def test_choose_among_what_is_available():
    assert choose_encoding("br, gzip", ("gzip", "deflate")) == "gzip"
    assert choose_encoding("br", ("gzip", "deflate")) == ""


def test_headers():
    assert file_headers("socket.io.js", '"4.8.4"', "") == [
        ("Content-Type", "application/javascript; charset=utf-8"),
        ("Cache-Control", "public, max-age=0"),
        ("ETag", '"4.8.4"'),
        ("Vary", "Accept-Encoding"),
    ]
    headers = file_headers("socket.io.min.js.map", '"4.8.4"', "br")
    assert headers[0] == ("Content-Type", "application/json; charset=utf-8")
    assert headers[-1] == ("Content-Encoding", "br")


def sri(algorithm: str, data: bytes) -> str:
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def test_integrity():
    data = b"package bytes"
    check_integrity(data, sri("sha512", data))
    check_integrity(data, sri("sha256", data))
    check_integrity(data, f"{sri('sha1', b'x')} {sri('sha512', data)}")
    with pytest.raises(BundleError, match="integrity check failed"):
        check_integrity(data + b"!", sri("sha512", data))
    with pytest.raises(BundleError, match="integrity check failed"):
        # the strongest present decides: a matching sha256 does not save a wrong sha512
        check_integrity(data, f"{sri('sha256', data)} {sri('sha512', b'other')}")
    with pytest.raises(BundleError, match="no sha512"):
        check_integrity(data, sri("sha1", data))
    with pytest.raises(BundleError, match="unreadable"):
        check_integrity(data, "sha512-not*base64")
    with pytest.raises(BundleError):
        check_integrity(data, "")


@given(st.text())
def test_any_header_is_an_answer_not_an_error(header):
    assert choose_encoding(header) in ("", "br", "gzip", "deflate")
    assert not_modified(header, '"4.8.4"') in (True, False)
    assert client_file(header, "/socket.io/") in (None, *CLIENT_FILES)
