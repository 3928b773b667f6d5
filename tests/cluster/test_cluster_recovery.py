"""Connection state recovery with the pub/sub Redis adapter: a client recovers on the server it
was connected to, with what other servers sent to its rooms meanwhile; on another server it is a
new connection (that adapter keeps sessions and packets in each process, as the README says).
"""

from __future__ import annotations

import json

from cluster_support import wait_cluster
from rawws import call, event, next_packet, sio_connect, stream_offset, stream_to_room


def test_a_client_recovers_on_its_server_with_what_the_others_sent(
    start_server, redis_server, wait_for
):
    a = start_server("recovery_app", "--redis", redis_server.url)
    b = start_server("recovery_app", "--redis", redis_server.url)
    wait_cluster(redis_server.port, 2)
    ws, first = sio_connect(a)
    call(ws, "join", "lobby")
    offset = stream_offset(ws)
    ws.sock.close()
    wait_for(lambda: [d["id"] for d in a.get_json("/log")["disconnects"]] == [first["sid"]])
    # B's client streams to the room while A has no member in it (A logs it all the same).
    other, _ = sio_connect(b)
    stream_to_room(other, "lobby", 3)

    # On another server: a new connection, no error.
    elsewhere, answer = sio_connect(b, auth={"pid": first["pid"], "offset": offset})
    assert answer["sid"] != first["sid"]
    elsewhere.close()

    ws2, again = sio_connect(a, auth={"pid": first["pid"], "offset": offset})
    assert again == first
    missed = [event(next_packet(ws2, lambda p: p.startswith('42["r"'))) for _ in range(3)]
    assert [m[:2] for m in missed] == [["r", 0], ["r", 1], ["r", 2]]
    ws2.send_text('423["whoami"]')
    whoami = json.loads(next_packet(ws2, lambda p: p.startswith("433"))[3:])[0]
    assert whoami["recovered"] is True and whoami["id"] == first["sid"]


def test_streams_a_client_cut_before_its_first_event_recovers_elsewhere(
    start_server, redis_server, wait_for
):
    """With the Redis Streams adapter a client with no offset yet recovers on another server
    from where the stream stood when it connected (gsio's ``since``, which Node ignores)."""
    a = start_server("recovery_app", "--streams", redis_server.url)
    b = start_server("recovery_app", "--streams", redis_server.url)
    ws, first = sio_connect(a)
    call(ws, "join", "lobby")
    ws.sock.close()
    wait_for(lambda: [d["id"] for d in a.get_json("/log")["disconnects"]] == [first["sid"]])
    other, _ = sio_connect(b)
    stream_to_room(other, "lobby", 2)
    ws2, again = sio_connect(b, auth={"pid": first["pid"]})
    assert again == first
    missed = [event(next_packet(ws2, lambda p: p.startswith('42["r"'))) for _ in range(2)]
    assert [m[:2] for m in missed] == [["r", 0], ["r", 1]]
