"""The blocking API's promises, with the real socket.io-client: emits from OS threads,
receive() with a timeout, call() that is never answered, call() and receive() interleaved, and
returning from the handler.

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
