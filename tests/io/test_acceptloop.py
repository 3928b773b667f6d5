"""gsio's server reads a new connection's first request in the event loop (gsio.io.acceptloop):
a WebSocket handshake that nothing can block is answered there, without a greenlet; everything
else goes to the handler as before (the other suites check its answers byte for byte)."""

import select
import socket
import time

from rawhttp import read_response
from rawws import RawWebSocket, open_direct

PATH = "/socket.io/"
WS = PATH + "?EIO=4&transport=websocket"
N = 20


def census(server):
    return server.get_json("/census")


def spawned(server):
    """How many greenlets ever ran in the server."""
    return server.get_json("/spawned")["spawned"]


def _echoes(sockets):
    for i, ws in enumerate(sockets):
        ws.send_text(f"4hello {i}")
    return all(ws.recv() == f"4hello {i}" for i, ws in enumerate(sockets))


def test_a_websocket_connect_spawns_no_greenlet(start_server):
    """N sessions opened directly: no greenlet ran for any of them (the request asking is the one
    counted), and each session works."""
    server = start_server("engine_app")
    before = spawned(server)
    sockets = [open_direct(server)[0] for _ in range(N)]
    after = spawned(server)
    assert after - before <= 1, f"{after - before} greenlets for {N} connects"
    assert _echoes(sockets)
    for ws in sockets:
        ws.close()


def test_a_frame_behind_the_handshake_is_read(start_server):
    """A client sends its first message in the same write as its handshake."""
    server = start_server("engine_app", shared=True)
    ws = RawWebSocket(server.port, WS, early=RawWebSocket.frame(0x1, "4early"))
    assert ws.status == 101
    assert ws.recv().startswith("0{")
    assert ws.recv() == "4early"
    ws.close()


def test_a_handler_that_may_block_gets_its_greenlet(start_server):
    """With a handler that may block, the handshake goes to the handler as before: a
    greenlet reads each connection."""
    server = start_server("engine_app", "--blocking-handler")
    before = spawned(server)
    sockets = [open_direct(server)[0] for _ in range(N)]
    assert spawned(server) - before >= N
    assert _echoes(sockets)
    for ws in sockets:
        ws.close()


def _connect(server):
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def test_the_header_timeout_in_the_event_loop(start_server, wait_for):
    """With a header timeout of 1 s, connections the event loop reads: a WebSocket handshake
    whose head stops short gets 408 and is closed; one whose request line stops short, and
    one that sends nothing, are closed quietly; nothing of them is left."""
    server = start_server("engine_app", "--header-timeout", "1")
    baseline = census(server)
    head = (
        f"GET {WS} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\nSec-WebSocket-Version: 13\r\n"
    ).encode()
    partial_head, partial_line, silent = _connect(server), _connect(server), _connect(server)
    partial_head.sendall(head)
    partial_line.sendall(head[:30])
    answers = {}
    deadline = time.monotonic() + 30
    everyone = [partial_head, partial_line, silent]
    while len(answers) < len(everyone):
        assert time.monotonic() < deadline, "still open"
        ready, _, _ = select.select([s for s in everyone if s not in answers], [], [], 0.2)
        for sock in ready:
            answers[sock] = read_response(sock)
    assert answers[partial_head].startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert answers[partial_line] == answers[silent] == b""
    for sock in everyone:
        sock.close()
    wait_for(
        lambda: census(server)["fds"] <= baseline["fds"],
        timeout=15,
        message=f"the census back to {baseline}",
    )


def test_a_client_gone_before_its_head_leaves_nothing(start_server, wait_for):
    """Connections closed before (or in the middle of) their first request: their sockets
    are closed, and a client is served meanwhile."""
    server = start_server("engine_app")
    baseline = census(server)
    for i in range(N):
        sock = _connect(server)
        if i % 2:
            sock.sendall(f"GET {WS} HTTP/1.1\r\nHost:".encode())
        sock.close()
    ws, _ = open_direct(server)
    assert _echoes([ws])
    ws.close()
    wait_for(
        lambda: census(server)["fds"] <= baseline["fds"],
        timeout=15,
        message=f"the census back to {baseline}",
    )
