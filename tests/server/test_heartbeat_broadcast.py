"""Heartbeats during a long broadcast loop, on real sockets: a handler that emits in a loop for
a long time lets the event loop run now and then (``Concurrency.pause``, between two emits once
it has held the loop 100 ms), so the server's pings keep their schedule; before, no ping could
leave until the loop ended, and a loop longer than the ping timeout lost every client."""

from rawws import sio_connect

COUNT = 200_000  # about a second of emitting (15-byte frames: 3 MB in all)


def test_pings_keep_coming_during_a_long_broadcast_loop(start_server):
    server = start_server("sio_app", "--ping-interval", "0.1", "--ping-timeout", "10")
    ws, _ = sio_connect(server)
    ws.send_text(f'421["broadcast",{COUNT},"x"]')
    msgs = pings_during = 0
    while True:
        packet = ws.recv()
        if packet == "2":
            ws.send_text("3")
            pings_during += msgs < COUNT
        elif packet == '42["msg","x"]':
            msgs += 1
        elif packet.startswith('42["welcome"'):
            continue  # (sio_app greets each connection)
        else:
            assert packet == f"431[{COUNT}]", packet
            break
    assert msgs == COUNT
    # The loop lasts many ping intervals: its messages come with several pings between them
    # (before: none, or one that overtook the last frames queued).
    assert pings_during >= 2, pings_during
    ws.close()
