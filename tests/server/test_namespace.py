"""Namespace subclasses: which ``on_*`` methods are event handlers (pure, no server)."""

import re

import gsio
from gsio.server.namespace import ParentNamespace


class Chat(gsio.Namespace):
    def on_connect(self, conn, auth):
        return None

    def on_chat(self, conn, text):
        return text

    def on_server_side_stats(self, conn):  # an event name that merely starts like the API
        return "stats"

    def helper(self):  # not an on_* method
        return None


def test_a_plain_namespace_has_no_handlers():
    # on_server_side is Namespace's API (it registers server-side handlers): a client that
    # emits "server_side" must not reach it.
    assert gsio.Namespace("/").handlers == {}
    assert ParentNamespace(re.compile(r"/x-\d+")).handlers == {}


def test_a_subclass_handlers_are_its_own_on_methods():
    chat = Chat("/chat")
    assert sorted(chat.handlers) == ["chat", "connect", "server_side_stats"]
    assert chat.handlers["chat"](None, "hi") == "hi"
    assert "server_side" not in chat.handlers


def test_a_subclass_overriding_the_api_does_not_make_it_a_handler():
    class Custom(Chat):
        def on_server_side(self, event, handler=None):
            return super().on_server_side(event, handler)

    assert "server_side" not in Custom("/").handlers


def test_on_server_side_still_registers_server_side_handlers():
    chat = Chat("/chat")

    @chat.on_server_side("ping")
    def ping():
        return "pong"

    assert chat.server_side_handlers == {"ping": ping}
    assert "ping" not in chat.handlers



def test_handshake_time_is_the_http_date_of_issued():
    """``handshake.time`` (made once a second) is ``issued`` as an HTTP date, as Node's."""
    from email.utils import formatdate

    from gsio.server.handshake import Handshake, _http_time

    environ = {"REMOTE_ADDR": "127.0.0.1", "QUERY_STRING": "EIO=4", "HTTP_HOST": "x"}
    handshake = Handshake(environ, {})
    assert handshake.time == formatdate(handshake.issued / 1000, usegmt=True)
    for now in (0, 951782400.5, 951782400.9, 951782401.0, 1789000000.7, 4102444799.9):
        assert _http_time(now) == formatdate(now, usegmt=True)
