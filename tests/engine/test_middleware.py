"""Engine middlewares (``sio.engine.use``, as Node's ``io.engine.use``): run once for every
Engine.IO request, polls on a kept-alive connection included (which gsio's handler would
otherwise serve on the event loop), refusing with the status they choose; on every server kind."""

import http.client
import json

from rawws import RawWebSocket

BASE = "/socket.io/?EIO=4"


def _log(server):
    return server.get_json("/log")


def _request(conn, method, path, body=None):
    conn.request(method, path, body=body)
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def test_a_refusal_gets_its_status_headers_and_json(start_server, kind, wait_for):
    server = start_server("middleware_app", kind=kind)
    status, headers, body = server.request("GET", f"{BASE}&transport=polling")
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Bearer realm="gsio"'
    assert json.loads(body) == {"code": 4, "message": "Unauthorized"}
    ws = RawWebSocket(server.port, f"{BASE}&transport=websocket")
    assert ws.status == 401
    assert json.loads(ws.body()) == {"code": 4, "message": "Unauthorized"}
    ws.close()
    status, _, body = server.request("GET", f"{BASE}&transport=polling&token=good")
    assert status == 200 and body.startswith(b"0{")
    line = "request refused by a middleware (Unauthorized, 401)"
    wait_for(lambda: server.output().count(line) == 2, message="one log line per refusal")


def test_every_poll_on_a_kept_alive_connection_goes_through_the_middlewares(start_server, kind):
    server = start_server("middleware_app", kind=kind)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    status, _, body = _request(conn, "GET", f"{BASE}&transport=polling&token=good")
    assert status == 200
    sid = json.loads(body[1:])["sid"]
    path = f"{BASE}&transport=polling&token=good&sid={sid}"
    assert _request(conn, "POST", path, b"40")[0] == 200
    status, _, body = _request(conn, "GET", path)
    assert status == 200 and b'42["user","alice"]' in body
    for n in range(3):
        assert _request(conn, "POST", path, f'42{n}["echo",{n}]'.encode())[0] == 200
        status, _, body = _request(conn, "GET", path)
        assert status == 200 and f"43{n}[{n}]".encode() in body
    seen = [r for r in _log(server)["requests"] if r[2] == sid]
    assert len(seen) == 2 + 2 * 3  # each request once: none served around them
    # Revoked: the next poll, on the same connection, is refused.
    assert _request(conn, "POST", path, b'425["revoke"]')[0] == 200
    status, _, body = _request(conn, "GET", path)
    if b"435[true]" in body:  # (the ack came first)
        status, _, body = _request(conn, "GET", path)
    assert status == 403 and json.loads(body) == {"code": 4, "message": "Revoked"}
    conn.close()


def test_a_websocket_upgrade_runs_them_once(start_server, kind):
    server = start_server("middleware_app", kind=kind)
    ws = RawWebSocket(server.port, f"{BASE}&transport=websocket&token=good")
    assert ws.status == 101
    assert ws.recv().startswith("0{")
    ws.send_text("40")
    assert ws.recv().startswith("40")
    assert ws.recv() == '42["user","alice"]'
    ws.close()
    upgrades = [r for r in _log(server)["requests"] if r[1] == "websocket"]
    assert upgrades == [["GET", "websocket", None]]


def test_a_middleware_that_raises_is_a_500_and_the_server_goes_on(start_server, kind, wait_for):
    server = start_server("middleware_app", kind=kind)
    server.expect_traceback = True
    status, _, _ = server.request("GET", f"{BASE}&transport=polling&token=good&bug=1")
    assert status == 500
    # (the traceback comes through a pipe: waited for)
    wait_for(lambda: "middleware bug" in server.output(), message="the traceback")
    status, _, body = server.request("GET", f"{BASE}&transport=polling&token=good")
    assert status == 200 and body.startswith(b"0{")
