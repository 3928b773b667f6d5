"""Connection state recovery across a graceful restart (the Redis Streams adapter): 200
socket.io-client sockets on server A, in a room that server B streams to; A is stopped with
SIGTERM (it keeps their sessions in Redis as it closes them) and started again on the same
port; every socket recovers (same id, ``recovered``) with every message once, in order.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading

from conftest import JS, ROOT, ServerProcess
from rawws import next_packet, sio_connect

CLIENTS = 200
MESSAGES = 60


def test_a_graceful_restart_loses_nothing(start_server, redis_server, wait_for):
    b = start_server("recovery_app", "--streams", redis_server.url)
    a = ServerProcess("recovery_app", ("--streams", redis_server.url), "gsio")
    restarted = None
    crowd = subprocess.Popen(
        ["node", str(JS / "sio_recovery_crowd.js"), str(a.port), "websocket", str(CLIENTS),
         str(MESSAGES), "40000"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read():
        for line in crowd.stdout:
            lines.append(line)
            if line.startswith("READY"):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(30), f"the crowd did not connect: {lines} {crowd.stderr.read()}"
        sender, _ = sio_connect(b)
        sender.send_text(f'421["stream",{MESSAGES},"all",50]')
        next_packet(sender, lambda p: p.startswith("431"))
        for _ in range(10):  # the stream is under way: the crowd got some of it
            next_packet(sender, lambda p: p.startswith('42["d"'))
        a.proc.send_signal(signal.SIGTERM)
        assert a.proc.wait(15) == 0, a.output()
        kept = kept_sessions(redis_server)
        assert kept >= CLIENTS, (kept, a.output()[-3000:])  # (B keeps its sender's too)
        restarted = ServerProcess(
            "recovery_app", ("--streams", redis_server.url, "--port", str(a.port)), "gsio"
        )
        crowd.wait(60)
        reader.join(5)
        result = json.loads(lines[-1])
        sockets = result["sockets"] if "error" not in result else result["seen"]["sockets"]
        assert "error" not in result, (
            result["error"][:80],
            summary(sockets),
            a.output()[-3000:],
            restarted.output()[-3000:],
        )
        assert len(sockets) == CLIENTS
        for seen in sockets:
            assert seen["got"] == list(range(MESSAGES)), seen
            connects = seen["connects"]
            assert len(connects) == 2 and connects[0]["id"] == connects[1]["id"], connects
            assert [c["recovered"] for c in connects] == [False, True], connects
    finally:
        crowd.kill()
        a.stop()
        if restarted is not None:
            restarted.stop()


def kept_sessions(redis_server):
    """How many sessions are kept in Redis (``sio:session:<pid>``)."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    try:
        return len(client.keys("sio:session:*"))
    finally:
        client.close()


def summary(sockets):
    """How many sockets got what (the message count, and ``recovered`` at each connect)."""
    counts: dict[str, int] = {}
    for seen in sockets:
        key = f"{len(seen['got'])} msgs, {[c['recovered'] for c in seen['connects']]}"
        counts[key] = counts.get(key, 0) + 1
    return counts
