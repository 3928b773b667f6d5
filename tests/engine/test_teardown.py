"""A closed WebSocket connection is freed by reference counting, at once: nothing of it waits in
a reference cycle for the garbage collector (whose full passes stop the server for as long as
the heap is large). Real sockets, the collector disabled in the server's process; each case
runs in a fresh interpreter (server and raw clients in it, on loopback)."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent

PRELUDE = """
import gc
gc.disable()
from gevent import monkey
monkey.patch_all()
import json, socket, sys, time
import gevent
sys.path.insert(0, TESTS)
import gsio
from rawws import RawWebSocket

KINDS = ("EngineSocket", "Client", "Conn", "NativeWebSocket", "WSGIHandler", "Session")

sio = gsio.Server(gc_freeze=GC_FREEZE)
kept = []  # connections an application keeps after their close


@sio.on("connect")
def connect(conn, auth):
    if auth and auth.get("keep"):
        kept.append(conn)


@sio.on("bye")
def bye(conn):
    conn.disconnect(close=True)


listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(100)
PORT = listener.getsockname()[1]
gevent.spawn(gsio.serve, gsio.WSGIApp(sio), listener=listener)
gevent.sleep(0.1)


def count():
    found = dict.fromkeys(KINDS, 0)
    for o in gc.get_objects():
        name = type(o).__name__
        if name in found:
            found[name] += 1
    return found


def join(auth=""):
    ws = RawWebSocket(PORT, "/socket.io/?EIO=4&transport=websocket")
    assert ws.status == 101
    assert ws.recv().startswith("0{")
    ws.send_text("40" + auth)
    assert ws.recv().startswith("40{")
    return ws


def settle(goal):
    # Until the server has torn down what it will (an upper bound, not a timing).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (not goal() or sio.engine.sockets):
        gevent.sleep(0.05)
    gevent.sleep(0.2)


def report(**extra):
    print(json.dumps({"count": count(), "sessions": len(sio.engine.sockets), **extra}))
"""


def run(body: str, gc_freeze: bool = False) -> dict:
    script = f"TESTS = {str(TESTS)!r}\nGC_FREEZE = {gc_freeze}\n" + PRELUDE + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_connections_closed_every_way_leave_nothing_for_the_collector():
    result = run(
        """
        join().sock.close()  # warm-up: what the first connection makes once
        settle(lambda: True)
        base = count()
        by_close_frame = [join() for _ in range(20)]
        by_eof = [join() for _ in range(20)]
        by_server = [join() for _ in range(20)]
        live = count()
        for ws in by_close_frame:
            ws.send_frame(0x8, b"\\x03\\xe8")
            ws.until_close()
            ws.sock.close()
        for ws in by_eof:
            ws.sock.close()
        for ws in by_server:
            ws.send_text('42["bye"]')
            ws.until_close()
            ws.send_frame(0x8, b"\\x03\\xe8")
            ws.sock.close()
        settle(lambda: count()["EngineSocket"] <= base["EngineSocket"])
        after = count()
        report(base=base, live=live, after=after, garbage=gc.collect())
        """
    )
    base, live, after = result["base"], result["live"], result["after"]
    assert live["EngineSocket"] == base["EngineSocket"] + 60  # (the count sees them)
    assert result["sessions"] == 0
    assert after == base, (base, after)


def test_a_connection_kept_by_the_application_is_safe_to_use_after_close_and_freed_after():
    result = run(
        """
        join().sock.close()
        settle(lambda: True)
        base = count()
        clients = [join('{"keep": 1}') for _ in range(10)]
        for ws in clients[:5]:
            ws.sock.close()
        for ws in clients[5:]:
            ws.send_frame(0x8, b"\\x03\\xe8")
            ws.sock.close()
        settle(lambda: all(not conn.connected for conn in kept))
        # Late calls on closed connections: nothing is sent, nothing fails.
        sent = [conn.emit("late", 1) for conn in kept]
        for conn in kept:
            conn.disconnect()
        del conn
        held = count()["EngineSocket"] - base["EngineSocket"]
        kept.clear()
        gevent.sleep(0.2)
        report(base=base, held=held, after=count(), sent=sent, garbage=gc.collect())
        """
    )
    assert result["held"] == 10  # while the application keeps them
    assert result["after"] == result["base"], result
    assert not any(result["sent"])


def test_once_the_clients_left_the_c_heap_is_trimmed():
    # (the collector enabled: the policy is gsio.io.collector's, with gc_freeze)
    result = run(
        """
        from gsio.io.collector import COLLECTOR
        COLLECTOR.floor = 10
        clients = [join() for _ in range(30)]
        for ws in clients:
            ws.sock.close()
        settle(lambda: not sio.engine.sockets)
        due = COLLECTOR.trim_due
        settle(lambda: COLLECTOR.trims >= 1)  # (a second later: one trim for the whole wave)
        report(due=due, trims=COLLECTOR.trims, still=COLLECTOR.trim_due)
        """,
        gc_freeze=True,
    )
    assert result["sessions"] == 0
    assert result["due"] and result["trims"] == 1 and not result["still"]
