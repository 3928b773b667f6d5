"""socket.io-client 3.x (3.1.3, the last; Engine.IO v4 and Socket.IO protocol v5 as 4.x) against
gsio: the same scenarios and checks as tests/server/test_socketio_clients.py for connecting,
events and acks, binary, and namespaces, with the 3.x client (``GSIO_SIO_CLIENT``, read by
tests/js/sio_common.js) in each transport setup."""

import pytest
from conftest import _run_node
from test_socketio_clients import (  # noqa: F401 (the fixtures the tests take)
    mode,
    sio,
    test_binary_both_ways,
    test_connect_events_and_acks,
    test_namespaces,
)

CLIENT = {"GSIO_SIO_CLIENT": "socket.io-client-v3"}


@pytest.fixture
def run_node():
    def run(script, *args, **options):
        return _run_node(script, *args, env=CLIENT, **options)

    return run


def test_the_client_is_3x():
    r = _run_node("sio_client_version", env=CLIENT)
    assert r["version"].startswith("3."), r
