"""Prometheus metrics (``gsio.metrics.instrument``): real servers (tests/servers/metrics_app.py)
and socket.io-client 4.x clients (tests/js/sio_metrics.js), ``GET /metrics`` scraped over HTTP
and read with prometheus_client's own parser; the Redis adapters' on a real redis-server; and
``gunicorn -k gsio.gunicorn.GeventWorker -w 2`` in prometheus_client's multiprocess mode.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import gsio
import gsio.metrics
from gsio.cluster.stream_reader import _age

sys.path.insert(0, str(Path(__file__).resolve().parent / "servers"))

from deploy_support import Process, gunicorn  # noqa: E402

SERVERS = Path(__file__).resolve().parent / "servers"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of an exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(found, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


def scrape(server) -> dict:
    status, headers, body = server.request("GET", "/metrics")
    assert status == 200, (status, body)
    return samples(body.decode())


# -- clients on both transports, two namespaces ------------------------------------------------


def test_clients_traffic_acks_and_disconnections(start_server, run_node):
    server = start_server("metrics_app")
    seen = run_node("sio_metrics", server.port, "websocket", "clients", timeout=40)
    assert "error" not in seen, seen
    assert seen["asked"] == ["AckTimeout"], seen
    connected, traffic, left = (
        samples(seen["scrapes"][k]) for k in ("connected", "traffic", "left")
    )

    for ns in ("/", "/chat"):
        for transport in ("websocket", "polling"):
            assert (
                value(connected, "gsio_connected_clients", namespace=ns, transport=transport) == 1
            )
        assert value(connected, "gsio_connections_total", namespace=ns) == 2
    assert value(connected, "gsio_engine_sessions", transport="polling") == 2
    assert value(connected, "gsio_engine_sessions", transport="websocket") == 2
    assert value(connected, "gsio_packets_received_total", namespace="/") is None  # none yet

    # What the clients sent: a's echo and b's shout on "/", c's pend and d's ask on "/chat"
    # (the packets as socket.io-client writes them, each its socket's first ack id 0).
    received = {
        "/": ['0["echo","hello"]', '0["shout","hi"]'],
        "/chat": ['/chat,0["pend","q"]', '/chat,0["ask",0.3,"q2"]'],
    }
    # What the server sent: "news" broadcast to a and b; "q" (ack 0) and "q2" (ack 1) on /chat.
    sent = {"/": ['["news","hi"]'] * 2, "/chat": ['/chat,0["q"]', '/chat,1["q2"]']}
    for ns in ("/", "/chat"):
        assert value(traffic, "gsio_packets_received_total", namespace=ns) == 2
        size = sum(len("2" + p) for p in received[ns])
        assert value(traffic, "gsio_received_bytes_total", namespace=ns) == size
        assert value(traffic, "gsio_packets_sent_total", namespace=ns) == 2
        assert value(traffic, "gsio_sent_bytes_total", namespace=ns) == sum(
            len("2" + p) for p in sent[ns]
        )
    assert value(traffic, "gsio_acks_pending", namespace="/chat") == 1  # c never answers "q"
    assert value(traffic, "gsio_acks_total", namespace="/chat", outcome="timed out") == 1

    reasons = {("/", "client namespace disconnect"), ("/chat", "transport close")}
    for ns, reason in reasons:
        assert value(left, "gsio_disconnections_total", namespace=ns, reason=reason) == 1
    assert value(left, "gsio_connected_clients", namespace="/", transport="websocket") == 0
    assert value(left, "gsio_connected_clients", namespace="/", transport="polling") == 1
    assert value(left, "gsio_connected_clients", namespace="/chat", transport="websocket") == 0
    assert value(left, "gsio_connected_clients", namespace="/chat", transport="polling") == 1
    # c's unanswered ack is settled as its connection closed.
    assert value(left, "gsio_acks_total", namespace="/chat", outcome="closed") == 1
    assert value(left, "gsio_acks_pending", namespace="/chat") == 0
    for name in ("gsio_outbound_buffered_bytes_max", "gsio_heartbeat_lateness_seconds"):
        assert value(left, name) is not None, name


def test_heartbeat_lateness_and_pong(start_server, run_node):
    """A process blocked while pings fall due: they go out late."""
    server = start_server("metrics_app", env={"GSIO_TEST_PING": "1"})
    seen = run_node("sio_metrics", server.port, "default", "heartbeat", timeout=40)
    assert "error" not in seen, seen
    found = samples(seen["text"])
    # A ping due meanwhile went out when the block (2.5 s) ended: at least 1.5 s late (one
    # falls due every second); the other client's too, whatever the phase of their pings.
    assert value(found, "gsio_heartbeat_lateness_seconds") >= 1.4, seen["text"]
    assert 0 < value(found, "gsio_heartbeat_pong_seconds") < 5


def test_outbound_buffer_is_read_from_the_sessions(start_server):
    """A polling session with a message queued and no GET to take it."""
    import json

    server = start_server("metrics_app")
    status, _, body = server.request("GET", "/socket.io/?EIO=4&transport=polling")
    assert status == 200
    sid = json.loads(body.decode()[1:])["sid"]
    status, _, _ = server.request("POST", f"/socket.io/?EIO=4&transport=polling&sid={sid}", b"40")
    assert status == 200
    # The CONNECT answer waits in the session's queue: ``0{"sid":"..."}`` and its "4" prefix.
    found = scrape(server)
    queued = value(found, "gsio_outbound_buffered_bytes", transport="polling")
    assert queued == len('40{"sid":"') + 20 + len('"}'), found
    assert value(found, "gsio_outbound_buffered_bytes_max") == queued


# -- no metrics, no observer ---------------------------------------------------------------


def test_a_server_without_metrics_has_no_observer():
    sio = gsio.Server(serve_client=False)
    assert not sio.observers
    registry = CollectorRegistry()
    metrics = gsio.metrics.instrument(sio, registry, multiprocess=False)
    assert sio.observers
    assert b"gsio_connected_clients" in generate_latest(registry)
    metrics.remove()
    assert not sio.observers
    assert b"gsio_" not in generate_latest(registry)


def test_without_prometheus_client_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ImportError, match=r"gsio\[metrics\]"):
        gsio.metrics.instrument(gsio.Server(serve_client=False))


def test_stream_entry_age():
    assert _age(b"1000-0", 3.5) == 2.5
    assert _age(b"5000-3", 3.5) == 0.0  # (a clock behind Redis': never below 0)
    assert _age(b"bad", 3.5) == 0.0


# -- the adapters ------------------------------------------------------------------------------


def test_redis_adapter_publish_errors_and_lag(start_server, redis_server, wait_for):
    server = start_server("metrics_app", "--redis", redis_server.url)
    server.request("GET", "/shout")
    found = wait_for(
        lambda: (
            (f := scrape(server))
            and value(f, "gsio_adapter_publish_queue", adapter="RedisAdapter") == 0
            # (lag is above 0 while a write is under way: the queue may be empty by then)
            and value(f, "gsio_adapter_publish_lag_seconds", adapter="RedisAdapter") == 0
            and f
        )
    )
    for kind in ("unreachable", "refused", "dropped"):
        labels = {"adapter": "RedisAdapter", "kind": kind}
        assert value(found, "gsio_adapter_publish_errors_total", **labels) == 0

    redis_server.kill()
    server.request("GET", "/shout")  # published while Redis is away: retried, and late

    def failing():
        f = scrape(server)
        errors = value(
            f, "gsio_adapter_publish_errors_total", adapter="RedisAdapter", kind="unreachable"
        )
        return f if errors and errors > 0 else None

    found = wait_for(failing, timeout=20, message="a failed publication")
    lag = value(found, "gsio_adapter_publish_lag_seconds", adapter="RedisAdapter")
    assert lag > 0, found

    redis_server.start()

    def caught_up():
        f = scrape(server)
        return (
            f
            if value(f, "gsio_adapter_publish_lag_seconds", adapter="RedisAdapter") == 0
            and value(f, "gsio_adapter_publish_queue", adapter="RedisAdapter") == 0
            else None
        )

    wait_for(caught_up, timeout=30, message="publishing again")


def test_redis_streams_adapter_lag(start_server, redis_server, wait_for):
    server = start_server("metrics_app", "--streams", redis_server.url)
    server.request("GET", "/shout")  # an entry, read back by the server

    def read():
        f = scrape(server)
        lag = value(f, "gsio_adapter_stream_lag_seconds", adapter="RedisStreamsAdapter")
        queue = value(f, "gsio_adapter_publish_queue", adapter="RedisStreamsAdapter")
        return f if lag is not None and queue == 0 else None

    found = wait_for(read, timeout=20, message="the stream read")
    assert 0 <= value(found, "gsio_adapter_stream_lag_seconds", adapter="RedisStreamsAdapter") < 5
    labels = {"adapter": "RedisStreamsAdapter", "kind": "refused"}
    assert value(found, "gsio_adapter_publish_errors_total", **labels) == 0


# -- gunicorn -w 2: prometheus_client's multiprocess mode -------------------------------------------


def test_gunicorn_workers_are_summed(tmp_path, run_node):
    env = {
        "GSIO_TEST_GUNICORN": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "GSIO_TEST_METRICS_INTERVAL": "0.2",
    }
    command = gunicorn("gsio.gunicorn.GeventWorker", "metrics_app:app", "-w", "2")
    process = Process(command, SERVERS, env)
    try:
        process.wait_ready()
        seen = run_node("sio_metrics", process.port, "websocket", "workers", timeout=60)
        assert "error" not in seen, seen
        assert len(seen["pids"]) == 2, seen  # clients on both workers
        found = samples(seen["text"])
        name = "gsio_connected_clients"
        assert value(found, name, namespace="/", transport="websocket") == seen["count"], seen
        assert value(found, "gsio_connections_total", namespace="/") == seen["count"]
        # Each client's echo, whichever worker it reached.
        assert value(found, "gsio_packets_received_total", namespace="/") == seen["count"]
        problem = process.problems()
        assert problem is None, f"gunicorn {problem}:\n{process.output()}"
    finally:
        process.stop()
