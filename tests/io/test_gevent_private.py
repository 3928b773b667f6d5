"""The private names of gevent's that gsio's handler relies on (gsio.io.geventpriv.PRIVATE_NAMES)
exist in the installed gevent, methods with the parameters gsio calls or overrides them with:
a gevent upgrade that changes one fails here, loudly, instead of misbehaving in production.
setup.cfg pins the gevent range (install_requires)."""

from __future__ import annotations

import configparser
import importlib
import inspect
import os
import re

import gevent.socket
import gevent.ssl
import pytest

from gsio.io.geventpriv import PRIVATE_NAMES


def _owner(path: str) -> object:
    module, _, name = path.rpartition(".")
    try:
        return importlib.import_module(path)
    except ImportError:
        return getattr(importlib.import_module(module), name)


@pytest.fixture(scope="module")
def instances():
    """Instances for the attributes an instance has (a plain and a TLS gevent socket)."""
    sock = gevent.socket.socket()
    context = gevent.ssl.SSLContext(gevent.ssl.PROTOCOL_TLS_CLIENT)
    tls = context.wrap_socket(
        gevent.socket.socket(), do_handshake_on_connect=False, server_hostname="x"
    )
    yield {"gevent.socket.socket": sock, "gevent.ssl.SSLSocket": tls}
    sock.close()
    tls.close()


@pytest.mark.parametrize("owner, name, parameters", PRIVATE_NAMES, ids=lambda v: str(v))
def test_each_private_name_is_there(instances, owner, name, parameters):
    target = instances.get(owner) or _owner(owner)
    assert hasattr(target, name), f"{owner}.{name} is gone: see gsio/io/geventpriv.py"
    if parameters is not None:
        method = getattr(_owner(owner), name)
        found = list(inspect.signature(method).parameters)[1 : 1 + len(parameters)]
        assert found == list(parameters), f"{owner}.{name}{inspect.signature(method)}"


def test_the_overridden_methods_are_listed():
    """Every pywsgi.WSGIHandler method with a private name gsio's handlers define is listed."""
    from gevent import pywsgi

    from gsio.io.checked import CheckedRequests
    from gsio.io.handler import WSGIHandler

    listed = {name for owner, name, _ in PRIVATE_NAMES if owner == "gevent.pywsgi.WSGIHandler"}
    for cls in (WSGIHandler, CheckedRequests):
        for klass in cls.__mro__:
            if klass.__module__.startswith("gsio."):
                for name in vars(klass):
                    if name.startswith("_") and not name.startswith("__"):
                        if hasattr(pywsgi.WSGIHandler, name):
                            assert name in listed, name


def test_setup_cfg_pins_the_gevent_range():
    config = configparser.ConfigParser()
    config.read(os.path.join(os.path.dirname(__file__), "..", "..", "setup.cfg"))
    requires = config["options"]["install_requires"]
    (pin,) = re.findall(r"^gevent[<>=].*$", requires, re.M)
    assert re.fullmatch(r"gevent>=[\d.]+,<\d+", pin.replace(" ", ""))
    upper = int(pin.rpartition("<")[2])
    assert int(gevent.__version__.split(".")[0]) < upper
