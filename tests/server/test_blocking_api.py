"""The blocking API's promises, with the real socket.io-client: emits from OS threads,
receive() with a timeout, call() that is never answered, call() and receive() interleaved,
returning from the handler, events that arrive while the handler sleeps, many connections'
events at once, and the client leaving while the handler waits or is busy.

Each runs on gevent (gsio's handler) and in threading mode (werkzeug), over WebSocket and polling.
"""

import pytest

SETUPS = [("gsio", "websocket"), ("gsio", "polling"), ("werkzeug", "websocket")]


@pytest.fixture(params=SETUPS, ids=["-".join(s) for s in SETUPS])
def setup(request, start_server):
    kind, mode = request.param
    return start_server("blocking_app", kind=kind), mode


def test_emits_from_os_threads_arrive_all_and_in_order(setup, run_node):
    server, mode = setup
    result = run_node("sio_blocking", server.port, mode, "threads")
    assert result == {
        "scenario": "threads",
        "started": "started",
        "done": 500,
        "ticks_in_order": True,
        "ticks": 500,
    }


def test_receive_times_out_then_returns_the_next_event(setup, run_node):
    server, mode = setup
    result = run_node("sio_blocking", server.port, mode, "wait")
    assert result == {"scenario": "wait", "timeout": "timeout", "got": "poke", "poke_ack": "seen"}


def test_call_without_an_answer_raises_ack_timeout(setup, run_node):
    server, mode = setup
    result = run_node("sio_blocking", server.port, mode, "call_unanswered")
    assert result == {"scenario": "call_unanswered", "error": "AckTimeout"}


def test_call_waits_while_events_queue_for_receive(setup, run_node):
    server, mode = setup
    result = run_node("sio_blocking", server.port, mode, "call_while_busy")
    assert result == {"scenario": "call_while_busy", "reply": [21, [0, 1, 2, 3, 4]]}


def test_returning_from_the_handler_disconnects(setup, run_node, wait_for):
    server, mode = setup
    result = run_node("sio_blocking", server.port, mode, "bye")
    assert result == {"scenario": "bye", "reply": "bye", "reason": "io server disconnect"}
    log = wait_for(lambda: server.get_json("/log"), message="the server's disconnect")
    assert log == [["disconnect", "server namespace disconnect"]]


def test_events_arriving_while_the_handler_sleeps_wait_for_it_in_order(setup, run_node):
    server, mode = setup
    result = run_node("sio_blocking", server.port, mode, "nap")
    assert result == {"scenario": "nap", "reply": [True, list(range(20))]}


def test_many_connections_get_their_own_acks_in_order(setup, run_node):
    server, mode = setup
    result = run_node("sio_blocking", server.port, mode, "crowd")
    assert result == {"scenario": "crowd", "right": True, "acks": 21 * 30}


def test_the_loop_ends_when_the_client_leaves_while_the_handler_waits(setup, run_node, wait_for):
    server, mode = setup
    result = run_node("sio_blocking", server.port, mode, "gone_while_parked")
    assert result == {"scenario": "gone_while_parked", "echo": "hi"}
    log = wait_for(
        lambda: (lambda log: log if len(log) == 2 else None)(server.get_json("/log")),
        message="the server's disconnect",
    )
    assert log == [
        ["loop-ended", "client namespace disconnect"],
        ["disconnect", "client namespace disconnect"],
    ]


def test_events_queued_before_the_client_left_are_handled_first(setup, run_node, wait_for):
    server, mode = setup
    result = run_node("sio_blocking", server.port, mode, "gone_while_busy")
    assert result == {"scenario": "gone_while_busy", "echo": "hi"}
    log = wait_for(
        lambda: (lambda log: log if len(log) == 7 else None)(server.get_json("/log")),
        message="the server's disconnect",
    )
    assert log == [
        *(["note", i] for i in range(5)),
        ["loop-ended", "client namespace disconnect"],
        ["disconnect", "client namespace disconnect"],
    ]
