"""What forwarding a request to its session's server costs: the round trip of a polling
request (an acked echo: the POST, then the GET that takes the ack) and of a WebSocket echo,
served by the owner directly and through another server (forwarded through Redis, relayed).

    python tests/servers/measure_forwarding.py [reps] [runs]

Two gunicorn servers (tests/servers/forward_app.py, one gsio.gunicorn.GeventWorker each) on a
redis-server of their own; prints the median of each run, in microseconds. Not a test: the
machine is noisy, compare medians of several runs.
"""

import json
import socket
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from deploy_support import Process, gunicorn  # noqa: E402
from rawhttp import read_response  # noqa: E402
from rawws import RawWebSocket  # noqa: E402
from redis_server import RedisServer  # noqa: E402

ENGINE = "/socket.io/?EIO=4&transport=polling"


def request(sock, method, path, body=b""):
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    sock.sendall(head.encode() + body)
    response = read_response(sock)
    assert response.startswith(b"HTTP/1.1 200"), response
    return response.split(b"\r\n\r\n", 1)[1]


def session(owner_port):
    with socket.create_connection(("127.0.0.1", owner_port)) as sock:
        sid = json.loads(request(sock, "GET", ENGINE)[1:])["sid"]
        path = f"{ENGINE}&sid={sid}"
        request(sock, "POST", path, b"40")
        assert request(sock, "GET", path).startswith(b"40")
    return sid, path


def polling(owner_port, port, reps):
    _, path = session(owner_port)
    times = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(reps):
            began = time.perf_counter()
            request(sock, "POST", path, f'42{i}["echo",{i}]'.encode())
            assert request(sock, "GET", path) == f"43{i}[{i}]".encode()
            times.append(time.perf_counter() - began)
    return times


def websocket(owner_port, port, reps):
    sid, _ = session(owner_port)
    ws = RawWebSocket(port, f"/socket.io/?EIO=4&transport=websocket&sid={sid}")
    assert ws.status == 101, ws.head
    ws.send_text("2probe")
    assert ws.recv() == "3probe"
    ws.send_text("5")
    times = []
    for i in range(reps):
        began = time.perf_counter()
        ws.send_text(f'42{i}["echo",{i}]')
        while (answer := ws.recv()) in ("2", "6"):
            if answer == "2":
                ws.send_text("3")
        assert answer == f"43{i}[{i}]", answer
        times.append(time.perf_counter() - began)
    ws.close()
    return times


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    redis = RedisServer()
    env = {"GSIO_TEST_REDIS": redis.url}
    servers = [Process(gunicorn("gsio.gunicorn.GeventWorker", "forward_app:app"), HERE, env)]
    servers.append(Process(gunicorn("gsio.gunicorn.GeventWorker", "forward_app:app"), HERE, env))
    try:
        for server in servers:
            server.wait_ready()
        time.sleep(1.0)  # the servers subscribe
        owner, relay = (s.port for s in servers)
        results = {}
        for name, measure in (("polling", polling), ("websocket", websocket)):
            for where, port in (("direct", owner), ("forwarded", relay)):
                medians = []
                for _ in range(runs):
                    medians.append(statistics.median(measure(owner, port, reps)) * 1e6)
                results[f"{name} {where}"] = medians
                print(f"{name:9} {where:9}", " ".join(f"{m:7.0f}" for m in medians), "us")
        for name in ("polling", "websocket"):
            extra = statistics.median(results[f"{name} forwarded"]) - statistics.median(
                results[f"{name} direct"]
            )
            print(f"{name}: forwarding adds {extra:.0f} us per round trip (median of medians)")
    finally:
        for server in servers:
            server.stop()
        redis.stop()


if __name__ == "__main__":
    main()
