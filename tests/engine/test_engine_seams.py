"""The engine's seams for what comes next: requests for a session that another process owns
(``Engine(unknown_session=...)``, :meth:`gsio.Engine.on_unknown_session`), the Engine.IO protocol
version of a session (``EngineSocket.protocol``), and the one WebSocket contract that every
backend implements (:class:`gsio.io.websocket.WebSocket`).

On real sockets against tests/servers/engine_app.py, on every server kind.
"""

from __future__ import annotations

import inspect
import json

import pytest
from rawws import RawWebSocket

from gsio.io.websocket import MessageSink, WebSocket, WebSocketConfig
from gsio.io.wsgevent import GeventWebSocket
from gsio.io.wsnative import NativeWebSocket
from gsio.io.wssimple import SimpleWebSocket

POLL = "/socket.io/?EIO=4&transport=polling"
WS = "/socket.io/?EIO=4&transport=websocket"


@pytest.fixture
def seams_server(start_server, kind):
    return start_server("engine_app", "--unknown-session", kind=kind, shared=True)


def test_a_request_for_an_unknown_session_goes_to_the_hook(seams_server):
    server = seams_server
    status, _, body = server.request("GET", POLL + "&sid=theirs")
    assert (status, body) == (200, b"owned elsewhere: theirs GET")
    status, _, body = server.request("POST", POLL + "&sid=theirs2", body=b"4hello")
    assert (status, body) == (200, b"owned elsewhere: theirs2 POST")
    upgrade = RawWebSocket(server.port, WS + "&sid=theirs3")
    assert upgrade.status == 200, upgrade.head
    assert upgrade.body() == b"owned elsewhere: theirs3 GET"
    # The hook declines (None): the protocol's answer.
    status, _, body = server.request("GET", POLL + "&sid=ours-too")
    assert (status, json.loads(body)) == (400, {"code": 1, "message": "Session ID unknown"})


def test_the_hook_is_not_asked_about_sessions_the_engine_has(seams_server):
    server = seams_server
    status, _, body = server.request("GET", POLL)
    assert status == 200, body
    sid = json.loads(body[1:])["sid"]
    status, _, body = server.request("POST", POLL + f"&sid={sid}", body=b"4hi")
    assert (status, body) == (200, b"ok")
    status, _, body = server.request("GET", POLL + f"&sid={sid}")
    assert (status, body) == (200, b"4hi")
    # A bad request is refused before any session is looked up: no hook.
    status, _, body = server.request("GET", "/socket.io/?EIO=3&transport=polling&sid=theirs")
    assert (status, json.loads(body)["code"]) == (400, 5)


def test_a_session_tells_its_protocol_version(seams_server):
    server = seams_server
    status, _, body = server.request("GET", POLL)
    sid = json.loads(body[1:])["sid"]
    assert server.get_json("/sessions")[sid]["protocol"] == 4
    ws = RawWebSocket(server.port, WS)
    direct = json.loads(ws.recv()[1:])["sid"]
    assert server.get_json("/sessions")[direct]["protocol"] == 4
    ws.close()


def _members(protocol: type) -> set[str]:
    return {
        name
        for name in vars(protocol)
        if not name.startswith("_") and name not in ("__annotations__",)
    } | set(getattr(protocol, "__annotations__", {}))


@pytest.mark.parametrize("backend", [NativeWebSocket, GeventWebSocket, SimpleWebSocket])
def test_every_backend_implements_the_websocket_contract(backend):
    """The contract's every member, with the same parameters (mypy checks the types where the
    engine hands a backend over)."""
    for name in _members(WebSocket):
        assert hasattr(backend, name), f"{backend.__name__} has no {name}"
        expected = getattr(WebSocket, name)
        if inspect.isfunction(expected):
            got = inspect.signature(getattr(backend, name))
            assert list(got.parameters) == list(inspect.signature(expected).parameters), name
    # No "buffered" flag any more: every backend queues.
    assert not hasattr(backend, "buffered")


def test_the_engine_meets_what_the_backends_and_transports_need():
    import gsio
    from gsio.engine.base import EngineView

    engine = gsio.Engine(async_mode="threading")
    for protocol in (WebSocketConfig, EngineView):
        for name in _members(protocol):
            assert hasattr(engine, name), name
    socket = engine.open_session("polling", {})
    for name in _members(MessageSink):
        assert hasattr(socket, name), name
    socket.terminate("transport close")
