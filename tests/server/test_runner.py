"""Event handlers run in shared greenlets under gevent (gsio/server/runner.py): a handler that
blocks still blocks only its own connection. Raw WebSocket clients on tests/servers/sio_app.py
(gsio's handler), pings every 0.2 s: no assertion depends on timing (a blocked handler waits
for its own client's answer, not for a clock)."""

import json
import time

import pytest
from rawws import call, next_packet, sio_connect


@pytest.fixture
def server(start_server):
    return start_server("sio_app", "--ping-interval", "0.2", "--ping-timeout", "5")


def _blocked(ws):
    """Emit ``ask`` (its handler waits in ``conn.call()`` for this client's answer): the
    question, once the handler is blocked."""
    ws.send_text('427["ask","q"]')
    packet = next_packet(ws, lambda p: p.startswith("42") and '"question"' in p)
    head, _, data = packet[2:].partition("[")
    assert json.loads("[" + data) == ["question", "q"], packet
    return int(head)


def test_handlers_blocked_on_many_connections_delay_no_other(server):
    # More blocked handlers than the runners kept idle: each keeps one, others are spawned.
    blocked = [sio_connect(server)[0] for _ in range(5)]
    questions = [_blocked(ws) for ws in blocked]
    other, _ = sio_connect(server)
    for i in range(50):
        assert call(other, "echo", i, "x", ack_id=i) == [i, "x"]
    # Meanwhile the blocked connections' own heartbeats went on: they get pings, answer them,
    # and their events sent now wait, in order, behind the blocked handler.
    for n, ws in enumerate(blocked):
        for _ in range(2):
            _ping(ws)
        ws.send_text(f'42["seq",{n}]')
        ws.send_text(f'42["seq",{n + 100}]')
        ws.send_text('428["seq_get"]')
    for ws, ack_id in zip(blocked, questions):
        ws.send_text(f'43{ack_id}["answer"]')
    for n, ws in enumerate(blocked):
        assert next_packet(ws, lambda p: p.startswith("437")) == '437["answer"]'
        assert next_packet(ws, lambda p: p.startswith("438")) == f"438[[{n},{n + 100}]]"
    for ws in [*blocked, other]:
        ws.close()


def _ping(ws):
    """Wait for the server's next ping and answer it."""
    while True:
        packet = ws.recv()
        if packet == "2":
            ws.send_text("3")
            return
        raise AssertionError(f"only pings expected while the handler is blocked, got {packet!r}")


def test_events_sent_before_a_disconnect_are_handled_before_it(server, wait_for):
    ws, answer = sio_connect(server)
    question = _blocked(ws)
    for n in range(20):
        ws.send_text(f'42["seq",{n}]')
    ws.send_text(f'43{question}["answer"]')
    ws.send_text("41")  # the client's namespace disconnect, behind its events
    ws.send_text('42["seq",99]')  # after it: not for this connection any more
    log = wait_for(
        lambda: (lg := server.get_json("/log"))["disconnects"].get(answer["sid"]) and lg,
        message="the disconnect",
    )
    assert log["disconnects"][answer["sid"]] == "client namespace disconnect"
    assert log["seq"][answer["sid"]] == list(range(20))
    ws.close()


def test_a_handler_that_blocks_delays_no_event_read_with_it(server):
    """Two connections of one client (``/`` and a child of ``/dyn-*``): their events come in one
    read, so one runner takes both; the first handler blocks, the second is handled anyway."""
    ws, _ = sio_connect(server)
    ws.send_text("40/dyn-7,")
    next_packet(ws, lambda p: p.startswith("40/dyn-7,"))
    ws.sock.sendall(ws.frame(0x1, '427["ask","q"]') + ws.frame(0x1, '42/dyn-7,5["where"]'))
    # Both come while "ask" waits for its answer (for 10 s: the bound of this wait, not a clock
    # the server must beat; without a second runner "where" would come after it).
    deadline = time.monotonic() + 8
    seen = []
    while len(seen) < 2:  # (pings come every 0.2 s: the deadline is looked at as they do)
        assert time.monotonic() < deadline, f"only {seen} while 'ask' waits"
        packet = ws.recv()
        if packet == "2":
            ws.send_text("3")
        elif packet.startswith(("42", "43")):
            seen.append(packet)
    question = next(p for p in seen if '"question"' in p)
    assert '43/dyn-7,5["/dyn-7"]' in seen, seen
    ws.send_text(f"43{question[2:].partition('[')[0]}[\"answer\"]")
    assert next_packet(ws, lambda p: p.startswith("437")) == '437["answer"]'
    ws.close()
