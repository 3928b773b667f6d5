"""Engine.IO v3 (socket.io-client 2.x) on the wire, behind ``allow_eio3=True``: raw bytes of
the polling answers (text, binary and JSONP payloads), the POST bodies v3 clients send, the
reversed heartbeat, and v3 WebSocket frames; every bad input gets the protocol's answer.

The server is the echo server (``engine_app --allow-eio3``): what is posted comes back on the
next GET. On "gsio" the polling requests are served in the event loop
(:mod:`gsio.io.pollnative`, through ``Engine.handle_polling``), on the others through WSGI.
"""

import base64
import json
import re
import urllib.parse

import pytest
import simple_websocket
from rawws import open_direct, wait_reason

PATH = "/socket.io/"
KINDS = ["gsio", "pywsgi-ws", "werkzeug"]
OPEN = re.compile(rb'^(\d+):0(\{"sid":"([A-Za-z0-9_-]{20,})".*\})$')


@pytest.fixture(params=KINDS)
def server(request, start_server):
    return start_server("engine_app", "--allow-eio3", kind=request.param, shared=True)


def q(**params):
    return PATH + "?" + "&".join(f"{k}={v}" for k, v in params.items())


class V3:
    """A v3 long-polling session driven by hand."""

    def __init__(self, server, **extra):
        self.server = server
        self.extra = extra
        status, headers, body = server.request("GET", q(EIO=3, transport="polling", **extra))
        assert status == 200, (status, body)
        self.handshake_headers, self.handshake_body = headers, body
        if "j" not in extra:
            assert headers["Content-Type"] == "text/plain; charset=UTF-8"
            match = OPEN.match(body)
            assert match, body
            assert int(match.group(1)) == len(match.group(2)) + 1  # ASCII: the length in bytes + 1
            self.sid = match.group(3).decode()
            self.open = json.loads(match.group(2))

    @property
    def path(self):
        return q(EIO=3, transport="polling", sid=self.sid, **self.extra)

    def get(self):
        return self.server.request("GET", self.path)

    def post(self, body, content_type="text/plain;charset=UTF-8"):
        return self.server.request("POST", self.path, body, {"Content-Type": content_type})


def test_v3_handshake_is_a_text_payload(server):
    session = V3(server)
    assert session.open["upgrades"] == ["websocket"]
    assert server.get_json("/sessions")[session.sid]["protocol"] == 3


def test_text_payload_lengths_count_utf16_units(server):
    """ "€" is one UTF-16 unit, "😀" two: the echo of ``4€😀`` is ``4:4€😀``, in UTF-8."""
    session = V3(server)
    status, _, body = session.post("4:4€😀".encode())
    assert (status, body) == (200, b"ok")
    status, _, body = session.post("4:4€😀2:4a".encode())
    assert (status, body) == (200, b"ok")
    status, headers, body = session.get()
    assert status == 200
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert body == "4:4€😀4:4€😀2:4a".encode()


def test_binary_payload_both_ways(server):
    """A client without ``b64`` posts binary payloads and gets them (0x01, the length as digit
    bytes, 0xFF, the type byte 4, the data), as application/octet-stream."""
    session = V3(server)
    data = bytes(range(256)) * 2  # 512 bytes: the length 513 is the digit bytes 5, 1, 3
    body = b"\x01\x05\x01\x03\xff\x04" + data + b"\x00\x02\xff4x"
    status, _, answer = session.post(body, "application/octet-stream")
    assert (status, answer) == (200, b"ok")
    status, headers, body = session.get()
    assert status == 200
    assert headers["Content-Type"] == "application/octet-stream"
    assert body == b"\x01\x05\x01\x03\xff\x04" + data + b"\x00\x02\xff4x"


def test_binary_as_base64_with_b64(server):
    """A client that asked for ``b64`` gets a binary message as ``b4<base64>`` in a text
    payload."""
    session = V3(server, b64=1)
    encoded = "b4" + base64.b64encode(b"\x01\x02\x03").decode()
    status, _, _ = session.post(f"{len(encoded)}:{encoded}".encode())
    assert status == 200
    status, headers, body = session.get()
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert body == b"6:b4AQID"


def test_jsonp_with_u2028(server):
    """``j``: the answer is a script, the payload a JSON string with U+2028 escaped; a POST is
    the form field ``d``."""
    session = V3(server, j=3)
    body = session.handshake_body
    assert body.startswith(b'___eio[3]("') and body.endswith(b'");'), body
    payload = json.loads(body[len(b"___eio[3](") : -2])
    match = OPEN.match(payload.encode())
    assert match, payload
    session.sid = match.group(3).decode()
    form = "d=" + urllib.parse.quote("3:4\u2028é")
    status, _, answer = session.post(form.encode(), "application/x-www-form-urlencoded")
    assert (status, answer) == (200, b"ok")
    status, headers, body = session.get()
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert body == '___eio[3]("3:4\\u2028é");'.encode()


def test_bad_jsonp_index_is_refused(server):
    status, _, body = server.request("GET", q(EIO=3, transport="polling", j="x1"))
    assert status == 400 and json.loads(body) == {"code": 3, "message": "Bad request"}


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"9:4abc", "text/plain;charset=UTF-8"),  # longer than what follows
        (b"x:4abc", "text/plain;charset=UTF-8"),  # not a length
        (b"\x01\x09\xff\x04ab", "application/octet-stream"),  # binary, too long
        (b"\x02\x01\xff4", "application/octet-stream"),  # neither text nor binary: its length
    ],
    ids=["text-too-long", "text-not-digits", "binary-too-long", "binary-bad-kind"],
)
def test_bad_payload_closes_the_session_as_parse_error(server, wait_for, body, content_type):
    session = V3(server)
    status, _, answer = session.post(body, content_type)
    assert status == 400 and json.loads(answer)["code"] == 3
    assert wait_reason(server, wait_for, session.sid) == "parse error"
    logged = re.compile(re.escape(session.sid) + ": [^\n]*; closing the session")
    wait_for(lambda: logged.search(server.output()), message="the bad payload logged")
    assert len(logged.findall(server.output())) == 1
    V3(server)  # the server goes on


def test_client_pings_server_pongs(server):
    session = V3(server)
    status, _, _ = session.post(b"1:2")
    assert status == 200
    assert session.get()[2] == b"1:3"


def test_client_pong_is_a_transport_error(server, wait_for):
    session = V3(server)
    status, _, _ = session.post(b"1:3")
    assert status == 400
    assert wait_reason(server, wait_for, session.sid) == "transport error"


def test_v4_client_may_not_post_binary(server, wait_for):
    status, _, body = server.request("GET", q(EIO=4, transport="polling"))
    sid = json.loads(body[1:])["sid"]
    status, _, _ = server.request(
        "POST",
        q(EIO=4, transport="polling", sid=sid),
        b"\x01\x02\xff\x04a",
        {"Content-Type": "application/octet-stream"},
    )
    assert status == 400
    assert wait_reason(server, wait_for, sid) == "transport error"


def test_websocket_frames(server, wait_for):
    """v3 WebSocket: a binary message carries the type byte 0x04 (raw frames, opcode 2); the
    client pings, the server pongs; a binary frame without 0x04 is a parse error."""
    ws, sid = open_direct(server, q(EIO=3, transport="websocket"))
    try:
        ws.send_binary(b"\x04\x00\x01\xff")
        assert ws.recv_frame() == (0x2, b"\x04\x00\x01\xff")
        ws.send_text("4€😀")
        assert ws.recv_frame() == (0x1, "4€😀")
        ws.send_text("2")
        assert ws.recv_frame() == (0x1, "3")
        ws.send_binary(b"\x05x")
        assert ws.until_close() == (["1"], 1000)  # the CLOSE, then the close frame
    finally:
        ws.close()
    assert wait_reason(server, wait_for, sid) == "parse error"


def test_websocket_b64(server):
    """With ``b64``, binary messages travel as ``b4<base64>`` text frames both ways."""
    ws, _ = open_direct(server, q(EIO=3, transport="websocket", b64=1))
    try:
        ws.send_text("b4AQID")
        assert ws.recv_frame() == (0x1, "b4AQID")
    finally:
        ws.close()


def test_upgrade_from_v3_polling(server, wait_for):
    session = V3(server)
    ws = simple_websocket.Client.connect(
        f"ws://127.0.0.1:{server.port}{q(EIO=3, transport='websocket', sid=session.sid)}"
    )
    try:
        ws.send("2probe")
        assert ws.receive(10) == "3probe"
        ws.send("5")
        ws.send(b"\x04bin")
        assert ws.receive(10) == b"\x04bin"
    finally:
        ws.close()
    assert wait_reason(server, wait_for, session.sid) == "transport close"


def test_eio3_refused_without_allow_eio3(start_server):
    server = start_server("engine_app", shared=True)
    status, _, body = server.request("GET", q(EIO=3, transport="polling"))
    assert status == 400
    assert body == b'{"code":5,"message":"Unsupported protocol version"}'
