"""Files emitted by the server (``conn.emit("file", open(path, "rb"))``) to socket.io-client
4.x, over WebSocket and polling, with the JSON and the msgpack parsers: byte-equal, nested,
from unseekable streams, in an ack and a broadcast; over ``max_payload`` the emit raises before
anything is sent and the connection goes on. The server is tests/servers/files_app.py, the
client tests/js/sio_files.js; gsio never closes the files.
"""

import hashlib
import os
import uuid

import pytest

MAX_PAYLOAD = 400_000
SIZES = {"big.bin": 300_000, "small.bin": 20_000, "toolarge.bin": MAX_PAYLOAD + 1}
PARSERS = {"json": {}, "msgpack": {"GSIO_SIO_PARSER": "socket.io-msgpack-parser"}}


def digest(data):
    return {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@pytest.mark.parametrize("parser", list(PARSERS))
@pytest.mark.parametrize("mode", ["websocket", "polling"])
def test_files_reach_the_client_byte_equal(start_server, run_node, tmp_path, mode, parser):
    files = {name: os.urandom(size) for name, size in SIZES.items()}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    sio = start_server(
        "files_app", "--dir", tmp_path, "--max-payload", MAX_PAYLOAD, "--parser", parser
    )
    r = run_node("sio_files", sio.port, mode, uuid.uuid4().hex, env=PARSERS[parser], timeout=60)
    assert r["transport"] == mode
    big, small = digest(files["big.bin"]), digest(files["small.bin"])
    # Read whole from a regular file, left open at its end (the caller owns it).
    assert r["file"] == {
        "got": big,
        "ack": {"closed": False, "pos": big["len"], "read": big["len"]},
    }
    assert r["nested"]["meta"] == {"name": "small.bin"} and r["nested"]["x"] == "x"
    assert r["nested"]["got"] == small
    assert r["nested"]["ack"] == {"closed": False, "pos": small["len"], "read": small["len"]}
    # Unseekable: a pipe, and a BufferedReader over a raw stream.
    assert r["pipe"] == {"got": big, "ack": {"closed": False, "pos": None, "read": None}}
    assert r["stream"] == {"got": big, "ack": {"closed": False, "pos": None, "read": big["len"]}}
    # conn.call with a file; a file as the ack (the handler's return value).
    assert r["call"]["ack"] == {
        "closed": False,
        "pos": small["len"],
        "read": small["len"],
        "answer": small,
    }
    assert r["fetch"] == big
    # A broadcast to a room of two: both get it, and it was read once.
    assert r["room"] == {
        "sender": big,
        "other": big,
        "ack": {"closed": False, "pos": big["len"], "read": big["len"]},
    }
    # Over max_payload: a known size is refused before a byte is read; a stream once it
    # passed the limit (limit + 1 bytes read at most). Nothing reaches the client, and the
    # next emit does.
    limit = f"over max_payload ({MAX_PAYLOAD:,} bytes)"
    file, pipe, stream = (r["tooLarge"][event] for event in ("file", "pipe", "stream"))
    assert file["ack"] == {
        "error": "FileTooLarge",
        "message": f"a file emitted holds {MAX_PAYLOAD + 1:,} bytes: {limit}",
        "closed": False,
        "pos": 0,
        "read": 0,
    }
    assert pipe["ack"]["error"] == stream["ack"]["error"] == "FileTooLarge"
    assert pipe["ack"]["message"] == f"a file emitted holds more: {limit}"
    assert stream["ack"]["closed"] is False and stream["ack"]["read"] <= MAX_PAYLOAD + 1
    for event in ("file", "pipe", "stream"):
        assert r["tooLarge"][event]["received"] == ["after"], event
        assert r["tooLarge"][event]["after"] == f"after {event}"
