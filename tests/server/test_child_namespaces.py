"""Dynamic namespaces' children and ``cleanup_empty_child_namespaces``, over raw WebSocket
against tests/servers/sio_app.py (its ``/dyn-<digits>`` namespaces)."""

import time
import uuid

import pytest
from rawws import next_packet, sio_connect


@pytest.mark.parametrize("cleanup", [False, True], ids=["kept", "cleaned-up"])
def test_empty_child_namespaces_cleaned_up_when_asked(start_server, wait_for, cleanup):
    """``cleanup_empty_child_namespaces``: a dynamic namespace's child goes when its last
    connection leaves (Node's option), and the next client of that name gets a new one that
    works; without it, children stay."""
    options = ("--cleanup-empty-child-namespaces",) if cleanup else ()
    server = start_server("sio_app", *options)
    name = "/dyn-" + str(uuid.uuid4().int)[:9]
    first, _ = sio_connect(server, name)
    second, _ = sio_connect(server, name)
    assert name in server.get_json("/log")["namespaces"]
    first.close()
    time.sleep(0.3)  # (one connection left: the child stays either way)
    assert name in server.get_json("/log")["namespaces"]
    second.close()
    if cleanup:
        wait_for(lambda: name not in server.get_json("/log")["namespaces"])
    else:
        time.sleep(0.5)
        assert name in server.get_json("/log")["namespaces"]
    again, _ = sio_connect(server, name)
    again.send_text(f'42{name},1["where"]')
    assert next_packet(again, lambda p: p.startswith(f"43{name},1")) == f'43{name},1["{name}"]'
    again.close()
