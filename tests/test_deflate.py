"""Per-message deflate (RFC 7692) on real sockets: socket.io-client 4.x in Node (whose ``ws``
offers it), and a raw WebSocket at the byte level (tests/rawws.py), against
tests/servers/deflate_app.py (``per_message_deflate=True``: threshold 1024).

gsio's own WebSocket layer negotiates it (``gsio serve``, ``make_server``, gunicorn's
``gsio.gunicorn.GeventWorker``); the other backends (gevent-websocket, simple-websocket) must
answer no extension and refuse RSV1 with 1002.
"""

import json
import struct
import zlib
from pathlib import Path

import pytest
import rawws
from deploy_support import gunicorn, running
from rawws import open_direct

SERVERS = Path(__file__).resolve().parent / "servers"
OFFER = {"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"}
OTHER_KINDS = ["pywsgi-ws", "pywsgi", "werkzeug"]


def compress(data, c=None):
    c = c or zlib.compressobj(6, zlib.DEFLATED, -15)
    return (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]


def recv_raw(ws):
    """The next frame: (first byte, payload bytes), RSV1 included."""
    b0, b1 = ws._read(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", ws._read(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", ws._read(8))[0]
    return b0, ws._read(n)


def inflate(payload):
    return zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")


def connected(server, headers=OFFER):
    """A raw Socket.IO session on ``/`` (the server's 101 answer in ``ws.head``)."""
    ws, _ = open_direct(server, headers=headers)
    ws.send_text("40")
    assert rawws.next_packet(ws, lambda p: p.startswith("40")).startswith("40{")
    return ws


def extension_header(ws):
    lines = [line for line in ws.head.split("\r\n") if line.lower().startswith("sec-websocket-ext")]
    return lines[0].split(":", 1)[1].strip() if lines else None


# -- socket.io-client in Node -------------------------------------------------------------------


def check_compressed(r):
    assert r["extensions"] == "permessage-deflate"
    assert r["sizeText"] == [50000] and r["wroteText"] < 5000  # 100 kB of UTF-8, compressed
    assert r["sizeBinary"] == [100000] and r["wroteBinary"] < 5000
    assert r["echo"] == [["small", 1, [True]]]
    assert r["big"][0] == 100000 and r["big"][1] < 5000
    assert r["bigPlain"][0] == 100000 and r["bigPlain"][1] > 100000  # compress(False)
    assert r["small"][0] == 500 and r["small"][1] > 500  # under the threshold
    assert r["bin"][0] == 100000 and r["bin"][1] < 5000
    assert r["bcast"][0] == 100000 and r["bcast"][1] < 5000
    assert r["bcastPlain"][0] == 100000 and r["bcastPlain"][1] > 100000


def check_plain(r):
    assert r["extensions"] == ""
    assert r["sizeText"] == [50000] and r["wroteText"] > 100000
    assert r["big"][1] > 100000 and r["bcast"][1] > 100000


@pytest.mark.parametrize("mode", ["websocket", "default"])
def test_real_client_negotiates_and_compresses(start_server, run_node, mode):
    server = start_server("deflate_app", shared=True)
    r = run_node("sio_deflate", server.port, mode)
    assert r["transport"] == "websocket"
    check_compressed(r)


def test_real_client_that_does_not_offer_it(start_server, run_node):
    server = start_server("deflate_app", shared=True)
    check_plain(run_node("sio_deflate", server.port, "websocket", "false"))


def test_off_by_default(start_server, run_node):
    server = start_server("deflate_app", "--deflate", "false")
    check_plain(run_node("sio_deflate", server.port, "websocket"))


@pytest.mark.parametrize("kind", OTHER_KINDS)
def test_other_backends_do_not_negotiate(start_server, run_node, kind):
    server = start_server("deflate_app", kind=kind, shared=True)
    check_plain(run_node("sio_deflate", server.port, "websocket"))
    ws, _ = open_direct(server, headers=OFFER)
    assert extension_header(ws) is None
    ws.send_frame(0x1, compress(b"40"), rsv=0x40)
    assert ws.until_close()[1] == 1002
    ws.close()


def test_gunicorn_gsio_worker_negotiates(run_node):
    command = gunicorn("gsio.gunicorn.GeventWorker", "deflate_app:app")
    for process in running(command, SERVERS):
        check_compressed(run_node("sio_deflate", process.port, "websocket"))


def test_gunicorn_gevent_websocket_worker_does_not(run_node):
    command = gunicorn("gsio.gunicorn.GeventWebSocketWorker", "deflate_app:app")
    for process in running(command, SERVERS):
        check_plain(run_node("sio_deflate", process.port, "websocket"))


# -- raw WebSocket, byte level ----------------------------------------------------------------


@pytest.mark.parametrize(
    "offer, answer",
    [
        ("permessage-deflate", "permessage-deflate; server_no_context_takeover"),
        (
            "permessage-deflate; client_max_window_bits=12; server_max_window_bits=10",
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10;"
            " client_max_window_bits=12",
        ),
        (
            "permessage-deflate; nonsense, permessage-deflate; client_no_context_takeover",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        ),
        ("permessage-deflate; server_max_window_bits=99", None),  # declined, not refused
        ("x-webkit-deflate-frame", None),
    ],
)
def test_negotiation_answers(start_server, offer, answer):
    server = start_server("deflate_app", shared=True)
    ws, _ = open_direct(server, headers={"Sec-WebSocket-Extensions": offer})
    assert extension_header(ws) == answer
    ws.close()


def test_compressed_frames_from_a_raw_client(start_server):
    server = start_server("deflate_app", shared=True)
    ws = connected(server)
    c = zlib.compressobj(6, zlib.DEFLATED, -15)  # context kept across messages
    for ack in (1, 2):
        text = f"42{ack}" + json.dumps(["size", "é" * 3000])
        ws.send_frame(0x1, compress(text.encode(), c), rsv=0x40)
        assert rawws.next_packet(ws, lambda p: p.startswith("43")) == f"43{ack}[3000]"
    # A fragmented compressed message: RSV1 on its first frame only.
    payload = compress(b'423["size","' + b"z" * 5000 + b'"]', c)
    ws.send_frame(0x1, payload[:10], fin=False, rsv=0x40)
    ws.send_frame(0x0, payload[10:20], fin=False)
    ws.send_frame(0x0, payload[20:])
    assert rawws.next_packet(ws, lambda p: p.startswith("43")) == "433[5000]"
    # Above the threshold the server compresses; below it, it does not.
    ws.send_text('424["big",2000]')
    b0, payload = recv_raw(ws)
    assert b0 == 0xC1 and len(payload) < 200
    assert inflate(payload) == b'42["big","' + b"x" * 2000 + b'"]'
    b0, payload = recv_raw(ws)
    assert (b0, payload) == (0x81, b'434["sent"]')
    ws.send_text('425["big",2000,true]')  # conn.compress(False)
    b0, payload = recv_raw(ws)
    assert b0 == 0x81 and payload == b'42["big","' + b"x" * 2000 + b'"]'
    ws.close()


def test_rsv1_without_negotiation_is_1002(start_server):
    server = start_server("deflate_app", shared=True)
    ws = connected(server, headers={})
    assert extension_header(ws) is None
    ws.send_frame(0x1, compress(b'42["echo"]'), rsv=0x40)
    assert ws.until_close()[1] == 1002
    ws.close()


def test_rsv1_on_a_continuation_is_1002(start_server):
    server = start_server("deflate_app", shared=True)
    ws = connected(server)
    ws.send_frame(0x1, b"42", fin=False)
    ws.send_frame(0x0, b'["echo"]', rsv=0x40)
    assert ws.until_close()[1] == 1002
    ws.close()


def bomb(size):
    """``size`` bytes of zeros, compressed (about 1,000 times smaller)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * min(size, 10_000_000)
    out = [c.compress(chunk) for _ in range(size // len(chunk))]
    out.append(c.flush(zlib.Z_SYNC_FLUSH))
    return b"".join(out)[:-4]


@pytest.mark.parametrize("size", [5_000_000, 800_000_000])
def test_decompression_bomb_is_closed_with_1009(start_server, size):
    server = start_server("deflate_app", shared=True)
    before = server.get_json("/mem")
    data = bomb(size)
    assert len(data) < 1_000_000  # under max_payload on the wire
    ws = connected(server)
    ws.send_frame(0x2, data, rsv=0x40)
    assert ws.until_close()[1] == 1009
    ws.close()
    after = server.get_json("/mem")
    assert after["hwm"] - before["hwm"] < 30_000, (before, after)  # kB: never the 800 MB
    # The server goes on.
    ws = connected(server)
    ws.send_text('421["echo","still here"]')
    assert rawws.next_packet(ws, lambda p: p.startswith("43")) == '431[["still here"]]'
    ws.close()
