"""Server observers (``sio.observe``), ``conn.on_any`` / ``conn.on_any_outgoing`` and
``conn.timeout(s).emit(..., callback=)``, with socket.io-client 4.x over WebSocket, polling and
the upgrade, on every server kind (tests/servers/observe_app.py, tests/js/sio_observe.js)."""

from __future__ import annotations

import json

import pytest

MODES = ["websocket", "polling", "default"]


def _of(seen, hook, *head):
    """The entries of ``hook`` whose first fields are ``head``."""
    return [
        entry[1:] for entry in seen if entry[0] == hook and tuple(entry[1 : 1 + len(head)]) == head
    ]


def _scenario(server, run_node, wait_for, mode):
    result = run_node("sio_observe", server.port, mode)
    ids = result["ids"]
    # The last disconnects are told once the server saw them (after the client's exit).
    log = wait_for(
        lambda: (lambda log: log if _of(log["seen"], "engine_closed", ids["eioB"]) else None)(
            server.get_json("/log")
        ),
        message="the sessions to close",
    )
    return result, ids, log


@pytest.mark.parametrize("mode", MODES)
def test_observers_see_sessions_connections_rooms_events_and_acks(
    start_server, run_node, wait_for, kind, mode
):
    server = start_server("observe_app", kind=kind, shared=True)
    result, ids, log = _scenario(server, run_node, wait_for, mode)
    seen = log["seen"]
    a, b, eio_a = ids["a"], ids["b"], ids["eioA"]
    first = "websocket" if mode == "websocket" else "polling"

    # Engine.IO sessions: opened on their first transport, upgraded (default mode), closed.
    assert _of(seen, "engine_opened", eio_a) == [[eio_a, first]]
    upgraded = _of(seen, "engine_upgraded", eio_a)
    assert upgraded == ([[eio_a, "websocket"]] if mode == "default" else [])
    assert _of(seen, "engine_closed", eio_a) == [[eio_a, "transport close"]]

    # Socket.IO connections, with the session under them, and their disconnect reasons.
    assert _of(seen, "connected", a) == [[a, "/", eio_a]]
    assert _of(seen, "connected", ids["blocking"]) == [
        [ids["blocking"], "/blocking", ids["eioBlocking"]]
    ]
    assert _of(seen, "disconnected", a) == [[a, "client namespace disconnect"]]

    # Rooms: each socket's own room as it connects, r1 joined and left.
    assert _of(seen, "joined", "/", a) == [["/", a, a]]
    assert _of(seen, "joined", "/", "r1", a) == [["/", "r1", a]]
    assert _of(seen, "joined", "/", "r1", b) == [["/", "r1", b]]
    assert _of(seen, "left", "/", "r1", b) == [["/", "r1", b]]
    assert ["/", "r1", a] in _of(seen, "left", "/", "r1", a)  # as a disconnects
    assert _of(seen, "left", "/", a, a) == [["/", a, a]]

    # Events in, with their packet's size: its text and its 3 bytes of attachment (events with
    # handlers of their own: the observers see them all the same).
    echo = '51-0["echo",1,"x",{"_placeholder":true,"num":0}]'  # (ack id 0: a's first call)
    assert _of(seen, "event_received", a, "echo") == [
        [a, "echo", [1, "x", {"bytes": "010203"}], len(echo) + 3]
    ]
    assert _of(seen, "event_received", b, "shout") == [
        [b, "shout", ["r1", "hi"], len('21["shout","r1","hi"]')]  # (b's second call)
    ]
    # Events out: a broadcast reaches each member of the room, once; a direct emit.
    shouted = len('2["shouted","hi"]')
    assert sorted(
        _of(seen, "event_sent", a, "shouted") + _of(seen, "event_sent", b, "shouted")
    ) == sorted([[a, "shouted", ["hi"], shouted], [b, "shouted", ["hi"], shouted]])
    assert _of(seen, "event_sent", a, "direct") == [[a, "direct", ["me"], len('2["direct","me"]')]]

    # Acks: one timed out, one answered; both left the connection's table.
    pending = _of(seen, "ack_pending", a)
    assert len(pending) == 2
    (timed_out_id, answered_id) = (pending[0][1], pending[1][1])
    assert _of(seen, "ack_done", a, timed_out_id) == [[a, timed_out_id, "timed out"]]
    assert _of(seen, "ack_done", a, answered_id) == [[a, answered_id, "answered"]]
    assert result["unanswered"] == ["AckTimeout", [], 0, 1]
    assert result["answered"] == [None, ["yes", 2], 0, 1]

    # conn.on_any sees every incoming event (handled ones too), on_any_outgoing every event
    # sent (broadcasts included); with the blocking API too.
    assert log["any_in"][a] == [
        ["echo", 1, "x", {"bytes": "010203"}],
        ["join", "r1"],
        ["direct", "me"],
        ["ask", 0.3, "question"],
        ["ask", 5, "question2"],
    ]
    assert log["any_out"][a] == [
        ["shouted", "hi"],
        ["direct", "me"],
        ["question", "why?"],
        ["question2", "why?"],
    ]
    assert log["any_out"][b] == [["shouted", "hi"]]
    assert result["report"] == [[["ping", 7], ["report"]]]


def test_refused_requests_are_told_with_their_code_and_message(start_server, kind):
    server = start_server("observe_app", kind=kind, shared=True)
    status, _, body = server.request("GET", "/socket.io/?EIO=4&transport=bogus&probe=1")
    assert status == 400
    assert body == b'{"code":0,"message":"Transport unknown"}'
    status, _, _ = server.request("GET", "/socket.io/?EIO=4&transport=polling&sid=nope&probe=2")
    assert status == 400
    seen = server.get_json("/log")["seen"]
    assert ["connection_error", 0, "Transport unknown", "EIO=4&transport=bogus&probe=1"] in seen
    assert [
        "connection_error",
        1,
        "Session ID unknown",
        "EIO=4&transport=polling&sid=nope&probe=2",
    ] in seen


def test_an_observer_that_raises_is_logged_once_and_breaks_nothing(
    start_server, run_node, wait_for
):
    server = start_server("observe_app", "--raising")
    server.expect_traceback = True
    for mode in ("websocket", "polling"):
        result, ids, log = _scenario(server, run_node, wait_for, mode)
        assert result["echoed"] == [1, "x", {"bin": "010203"}]
        assert result["unanswered"] == ["AckTimeout", [], 0, 1]
        # The other observer is told everything all the same.
        assert _of(log["seen"], "connected", ids["a"])
        assert _of(log["seen"], "event_received", ids["a"], "echo")
    output = server.output()
    assert output.count("failed in event_received (logged once)") == 1
    assert output.count("failed in connected (logged once)") == 1
    assert output.count("Traceback") == 2


def test_listeners_without_observers(start_server, run_node, wait_for, kind):
    server = start_server("observe_app", "--unobserved", kind=kind)
    result = run_node("sio_observe", server.port, "default")
    log = server.get_json("/log")
    a = result["ids"]["a"]
    assert log["seen"] == []
    assert log["any_in"][a][0] == ["echo", 1, "x", {"bytes": "010203"}]
    assert log["any_out"][a] == [
        ["shouted", "hi"],
        ["direct", "me"],
        ["question", "why?"],
        ["question2", "why?"],
    ]
    assert result["unanswered"] == ["AckTimeout", [], 0, 1]
    assert result["answered"] == [None, ["yes", 2], 0, 1]
    assert result["report"] == [[["ping", 7], ["report"]]]


def test_initial_headers_and_headers_are_added_to_the_engine_responses(
    start_server, kind, wait_for
):
    from rawws import RawWebSocket

    server = start_server("observe_app", "--headers", kind=kind)
    server.expect_traceback = True  # (the hook that raises, on purpose)
    status, headers, body = server.request("GET", "/socket.io/?EIO=4&transport=polling")
    assert status == 200 and body.startswith(b"0{")
    assert (headers["X-Initial"], headers["X-Every"]) == ("1", "GET")
    assert "X-Bad" not in headers and "Injected" not in headers  # not a header: dropped
    sid = json.loads(body[1:])["sid"]
    status, headers, _ = server.request(
        "POST", f"/socket.io/?EIO=4&transport=polling&sid={sid}", b"40"
    )
    assert status == 200 and headers["X-Every"] == "POST" and "X-Initial" not in headers
    status, headers, _ = server.request("GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
    assert status == 200 and headers["X-Every"] == "GET" and "X-Initial" not in headers
    status, headers, _ = server.request("GET", "/socket.io/?EIO=4&transport=bogus")
    assert status == 400 and headers["X-Every"] == "GET" and "X-Initial" not in headers
    # A hook that raises: logged, and the response goes out without its headers.
    status, headers, body = server.request("GET", "/socket.io/?EIO=4&transport=polling&boom=1")
    assert status == 200 and body.startswith(b"0{") and headers["X-Initial"] == "1"
    assert "X-Every" not in headers
    # The failure, the dropped pair (their lines come through a pipe: waited for).
    wait_for(lambda: server.output().count("headers hook") >= 2, message="both log lines")
    if kind == "gsio":  # gsio's own WebSocket layer writes the 101 with them
        ws = RawWebSocket(server.port, "/socket.io/?EIO=4&transport=websocket")
        assert ws.status == 101
        lines = ws.head.split("\r\n")
        assert "X-Initial: 1" in lines and "X-Every: GET" in lines
        assert not any(line.startswith(("X-Bad", "Injected")) for line in lines)
        ws.close()
