"""Socket.IO protocol v5 over a raw WebSocket: what the server answers to good and bad input.

Each client opens ``/socket.io/?EIO=4&transport=websocket``, reads the Engine.IO OPEN frame
(``0{...}``) and then speaks Socket.IO inside Engine.IO message frames (``4...``). For every
class of bad input the server must close the connection (a CLOSE packet ``1``, then the
WebSocket closes), or answer CONNECT_ERROR where the protocol says so; another client on the
same server must go on undisturbed, and the server must log no Traceback (the ``start_server``
fixture fails the test on one).
"""

import json
import time

import pytest
import simple_websocket

from gsio.testing import websocket_client

# Short heartbeats, so that tests can see them go on; a generous timeout.
OPTIONS = ("--ping-interval", "0.3", "--ping-timeout", "5")
TIMEOUT = 10.0
PLACEHOLDER = '{"_placeholder":true,"num":0}'


class Closed(Exception):
    """The server closed the connection; ``frames`` holds what came before."""

    def __init__(self, frames):
        super().__init__(f"closed after {frames!r}")
        self.frames = frames


class Raw:
    """A raw Engine.IO WebSocket client that answers the server's pings by itself."""

    def __init__(self, server):
        self.server = server
        self.ws = websocket_client(
            f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
        )
        self.pings = 0
        opening = self.frame(what="the OPEN packet")
        assert opening.startswith("0{"), opening
        self.handshake = json.loads(opening[1:])
        assert self.handshake["upgrades"] == []

    def frame(self, timeout=TIMEOUT, what="a frame"):
        """The next frame but pings (answered); raises Closed once the server closed."""
        deadline = time.monotonic() + timeout
        pings = self.pings
        while True:
            try:
                data = self.ws.receive(timeout=max(deadline - time.monotonic(), 0.001))
            except simple_websocket.ConnectionClosed:
                raise Closed([]) from None
            if data is None:
                pytest.fail(self._silence(timeout, what, self.pings - pings))
            if data == "2":
                self.pings += 1
                self.ws.send("3")
                continue
            return data

    def _silence(self, timeout, what, pings):
        """What a test that waited in vain reports: enough to tell which side lost what."""
        sid = getattr(self, "handshake", {}).get("sid")
        thread = self.ws.thread
        try:  # the Socket.IO connections the server accepted and still holds
            log = self.server.get_json("/log")
            live = [c["id"] for c in log["connects"] if c["id"] not in log["disconnects"]]
        except Exception as exc:
            live = f"unknown ({exc!r})"
        return (
            f"nothing but pings from the server within {timeout} s, waiting for {what}:"
            f" {pings} pings answered meanwhile (the server's heartbeat"
            f" {'went on' if pings else 'stopped too'}); Engine.IO sid {sid};"
            f" the client's reader thread {'alive' if thread.is_alive() else 'ended'},"
            f" connected={self.ws.connected}, {len(self.ws.input_buffer)} messages unread;"
            f" the server's live connections: {live};"
            f" the server printed since the test began:\n{self.server.output()}"
        )

    def wait_pings(self, count):
        """Wait, idle, for ``count`` more pings (answering them); nothing else may come."""
        target = self.pings + count
        deadline = time.monotonic() + TIMEOUT
        while self.pings < target:
            try:
                data = self.ws.receive(timeout=max(deadline - time.monotonic(), 0.001))
            except simple_websocket.ConnectionClosed:
                raise Closed([]) from None
            if data != "2":
                pytest.fail(f"expected a ping, got {data!r}")
            self.pings += 1
            self.ws.send("3")

    def send(self, packet):
        """Send a Socket.IO packet (text: inside an Engine.IO message; bytes: an attachment)."""
        self.ws.send(packet if isinstance(packet, bytes) else "4" + packet)

    def receive(self, what="a packet"):
        """The next Socket.IO packet (text without its ``4``, or bytes)."""
        data = self.frame(what=what)
        if isinstance(data, bytes):
            return data
        assert data.startswith("4"), f"expected a message, got {data!r}"
        return data[1:]

    def connect(self, namespace="/", auth=None):
        """CONNECT; returns the socket id from the answer."""
        prefix = "" if namespace == "/" else namespace + ","
        self.send("0" + prefix + ("" if auth is None else json.dumps(auth)))
        answer = self.receive(what=f"the answer to CONNECT {namespace}")
        assert answer.startswith("0" + prefix + "{"), answer
        sid = json.loads(answer[1 + len(prefix) :])["sid"]
        if namespace == "/":
            assert self.receive(what="the welcome event") == f'2["welcome","{sid}"]'
        return sid

    def echo(self, text, ack_id=1):
        self.send(f'2{ack_id}["echo",{json.dumps(text)}]')
        assert self.receive() == f"3{ack_id}[{json.dumps(text)}]"

    def expect_closed(self):
        """Read until the server closes: a CLOSE packet, then the WebSocket's end."""
        frames = []
        while True:
            try:
                frames.append(self.frame())
            except Closed:
                break
        assert frames and frames[-1] == "1", f"no CLOSE packet before the end: {frames!r}"
        return frames[:-1]

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


@pytest.fixture
def server(start_server):
    return start_server("sio_app", *OPTIONS, shared=True)


@pytest.fixture
def raw(server):
    """``raw()``: a new raw client; all are closed at the end."""
    clients = []

    def make():
        client = Raw(server)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def witness(raw):
    """A client connected to "/" before the bad input; checked undisturbed after the test."""
    client = raw()
    client.connect()
    yield client
    client.echo("still here", ack_id=99)


def disconnect_reason(server, wait_for, sid):
    return wait_for(
        lambda: server.get_json("/log")["disconnects"].get(sid),
        message=f"the server to disconnect {sid}",
    )


# -- baseline: what good input gets --------------------------------------------------------


def test_connect_answer_comes_before_the_events_of_the_connect_handler(raw):
    client = raw()
    client.send("0")
    answer = client.receive()
    assert answer.startswith('0{"sid":"'), answer
    sid = json.loads(answer[1:])["sid"]
    assert sid != client.handshake["sid"]  # the socket id is not the Engine.IO sid
    assert client.receive() == f'2["welcome","{sid}"]'


def test_disconnect_in_the_connect_handler(server, raw, wait_for):
    # As Node's socket.disconnect() in a "connection" handler: CONNECT answered, what was
    # emitted, then DISCONNECT; the Engine.IO connection stays open.
    client = raw()
    client.send('0{"token":"kick"}')
    answer = client.receive()
    assert answer.startswith('0{"sid":"'), answer
    sid = json.loads(answer[1:])["sid"]
    assert client.receive() == f'2["welcome","{sid}"]'
    assert client.receive() == "1"
    assert disconnect_reason(server, wait_for, sid) == "server namespace disconnect"
    client.connect()
    client.echo("connected again")


def test_json_is_compact_and_utf8(raw):
    client = raw()
    client.connect()
    client.send('21["echo","é ✓",{"a":[1,true,null]}]')
    assert client.receive() == '31["é ✓",{"a":[1,true,null]}]'


def test_binary_echo_raw(raw):
    client = raw()
    client.connect()
    client.send(f'51-7["echo",{{"n":[{PLACEHOLDER}]}}]')
    client.send(b"\x00\x01\xfe\xff")
    assert client.receive() == f'61-7[{{"n":[{PLACEHOLDER}]}}]'
    assert client.receive() == b"\x00\x01\xfe\xff"


def test_ack_id_of_15_digits_is_fine(raw):
    client = raw()
    client.connect()
    client.send('2123456789012345["echo","x"]')
    assert client.receive() == '3123456789012345["x"]'


def test_event_named_error_is_an_ordinary_event(raw):
    client = raw()
    client.connect()
    client.send('25["error","x"]')
    assert client.receive() == '35["error handled","x"]'


def test_namespace_without_trailing_comma(raw):
    # "0/chat" (nothing after the name) is a CONNECT to /chat, as Node's parser reads it.
    client = raw()
    client.send("0/chat")
    answer = client.receive()
    assert answer.startswith('0/chat,{"sid":"'), answer
    assert client.receive().startswith('2/chat,["hello",')


def test_emitting_the_name_of_a_namespace_api_method_is_an_ordinary_event(raw, witness):
    # Namespace.on_server_side is API, not the handler of an event "server_side": on "/" the
    # event goes to the catch-all handler, as any event without a handler of its own.
    client = raw()
    client.connect()
    client.send('2["server_side","x"]')
    client.send('26["server_side"]')
    assert client.receive() == '36["star","server_side"]'
    client.echo("still here")


def test_an_api_method_name_without_a_handler_is_ignored(raw, witness):
    # /admin has no catch-all: "server_side" (with an ack or without) has no handler and is
    # dropped, as any unknown event; the connection goes on.
    client = raw()
    client.connect("/admin", {"role": "admin"})
    client.send('2/admin,["server_side","x"]')
    client.send('2/admin,7["server_side"]')
    client.send('2/admin,8["whoami"]')
    assert client.receive() == '3/admin,8["admin"]'
    client.wait_pings(1)


# -- CONNECT_ERROR: the connection stays open ---------------------------------------------


def test_unknown_namespace_gets_connect_error_and_stays_open(raw, witness):
    client = raw()
    client.send("0/nope,")
    assert client.receive() == '4/nope,{"message":"Invalid namespace"}'
    client.connect()  # the same connection joins "/" afterwards
    client.echo("after the refusal")


def test_refused_by_connect_handler_gets_message_and_data(raw, witness):
    client = raw()
    client.send('0{"token":"bad"}')
    assert client.receive() == '4{"message":"Not authorized","data":{"code":42}}'
    client.connect()
    client.echo("after the refusal")


def test_refused_by_middleware(raw):
    client = raw()
    client.send('0/admin,{"role":"user"}')
    assert client.receive() == '4/admin,{"message":"Admins only","data":{"need":"admin"}}'
    sid = client.connect("/admin", {"role": "admin"})
    assert sid
    client.send('2/admin,3["whoami"]')
    assert client.receive() == '3/admin,3["admin"]'


# -- bad input: the connection is closed -----------------------------------------------------

BAD_AFTER_CONNECT = {
    "unknown type": ["7"],
    "unknown type (letter)": ["x"],
    "event data not an array": ['2{"a":1}'],
    "event data a string": ['2"a"'],
    "event data empty array": ["2[]"],
    "event without data": ["2"],
    "event name not a string": ["2[1]"],
    "event name null": ["2[null]"],
    "reserved event connect": ['2["connect"]'],
    "reserved event connect_error": ['2["connect_error"]'],
    "reserved event disconnect": ['2["disconnect"]'],
    "reserved event disconnecting": ['2["disconnecting"]'],
    "reserved event newListener": ['2["newListener"]'],
    "reserved event removeListener": ['2["removeListener"]'],
    "invalid json": ['2["a",]'],
    "trailing garbage": ['2["a"]x'],
    "connect twice": ["0"],
    "connect_error from the client": ['4{"message":"x"}'],
    "namespace without slash": ["0admin,"],
    "event for a namespace not joined": ['2/x,["a"]'],
    "event for a known namespace not joined": ['2/chat,["echo"]'],
    "ack for a namespace not joined": ["3/chat,1[]"],
    "disconnect for a namespace not joined": ["1/chat,"],
    "binary for a namespace not joined": [f'51-/chat,["a",{PLACEHOLDER}]', b"\x01"],
    "too many attachments": ['511-["a"]'],
    "attachment count not a number": ['5x-["a"]'],
    "attachment count without dash": ['51["a"]'],
    "placeholder num negative": ['51-["a",{"_placeholder":true,"num":-1}]', b"\x01"],
    "placeholder num fractional": ['51-["a",{"_placeholder":true,"num":0.5}]', b"\x01"],
    "placeholder num string": ['51-["a",{"_placeholder":true,"num":"0"}]', b"\x01"],
    "placeholder num bool": ['51-["a",{"_placeholder":true,"num":false}]', b"\x01"],
    "placeholder num out of range": ['51-["a",{"_placeholder":true,"num":1}]', b"\x01"],
    "placeholder without num": ['51-["a",{"_placeholder":true}]', b"\x01"],
    "placeholder with no attachment": ['50-["a",{"_placeholder":true,"num":0}]'],
    "binary event with no attachment": ['50-["echo"]'],
    "binary event with no attachment and ack id": ['50-3["echo","x"]'],
    "binary ack with no attachment": ["60-0[]"],
    "text while attachments are pending": [f'52-["a",{PLACEHOLDER}]', b"\x01", '2["b"]'],
    "binary without a binary packet": [b"\x01\x02"],
    "ack id not numeric": ['2x1["echo"]'],
    "ack id huge": ['21234567890123456["echo"]'],
    "ack id huger": ["2" + "9" * 40 + '["echo"]'],
    "number overflowing a double": ['2["echo",1e400]'],
    "number overflowing a double, with ack id": ['21["echo",{"a":[-1e400]}]'],
    "number overflowing a double in an ack": ["30[1e400]"],
    # Refused at its text: an attachment sent after it could race with the close.
    "number overflowing a double in a binary event": [f'51-2["echo",-1e400,{PLACEHOLDER}]'],
    "ack without id": ["3[]"],
    "ack data not an array": ['31{"a":1}'],
    "disconnect with data": ['1{"a":1}'],
    "connect data not an object": ['0/chat,"x"'],
}


@pytest.mark.parametrize("packets", BAD_AFTER_CONNECT.values(), ids=BAD_AFTER_CONNECT.keys())
def test_bad_input_closes_the_connection(server, raw, witness, wait_for, packets):
    client = raw()
    sid = client.connect()
    for packet in packets:
        client.send(packet)
    assert client.expect_closed() == []
    # The namespace connection on it is gone too, as the server saw it.
    assert disconnect_reason(server, wait_for, sid) in {
        "parse error",
        "forced close",
        "forced server close",
    }


BAD_FIRST = {
    "event before connect": ['2["x"]'],
    "event with ack before connect": ['21["echo","x"]'],
    "disconnect before connect": ["1"],
    "ack before connect": ["31[]"],
    "binary before connect": [f'51-["x",{PLACEHOLDER}]', b"\x01"],
    "unknown type first": ["7"],
    "connect auth overflowing a double": ['0{"token":1e400}'],
    "namespace without slash first": ["0admin,"],
}


@pytest.mark.parametrize("packets", BAD_FIRST.values(), ids=BAD_FIRST.keys())
def test_bad_first_packet_closes_the_connection(raw, witness, packets):
    client = raw()
    for packet in packets:
        client.send(packet)
    assert client.expect_closed() == []


def test_max_attachments_is_configurable(start_server):
    server = start_server("sio_app", "--max-attachments", "2", shared=True)
    good = Raw(server)
    bad = Raw(server)
    try:
        good.connect()
        good.send(f'52-1["echo",{PLACEHOLDER},{{"_placeholder":true,"num":1}}]')
        good.send(b"a")
        good.send(b"b")
        assert good.receive() == f'62-1[{PLACEHOLDER},{{"_placeholder":true,"num":1}}]'
        assert [good.receive(), good.receive()] == [b"a", b"b"]
        bad.connect()
        bad.send('53-["echo"]')
        assert bad.expect_closed() == []
        good.echo("undisturbed")
    finally:
        good.close()
        bad.close()


# -- DISCONNECT from the client: that namespace only ----------------------------------------


def test_client_disconnect_leaves_that_namespace_only(server, raw, wait_for):
    client = raw()
    root = client.connect()
    chat = client.connect("/chat")
    assert client.receive() == f'2/chat,["hello","{chat}"]'
    client.send("1")
    assert disconnect_reason(server, wait_for, root) == "client namespace disconnect"
    # The Engine.IO connection and the other namespace go on, heartbeats included.
    client.send('2/chat,4["echo","x"]')
    assert client.receive() == '3/chat,4["x"]'
    client.wait_pings(2)
    assert server.get_json("/log")["disconnects"].get(chat) is None
    # Events for the namespace left close the connection, as for any namespace not joined;
    # but a new CONNECT to it works.
    again = client.connect()
    assert again != root
    client.echo("back")
    client.send("1/chat,")
    assert disconnect_reason(server, wait_for, chat) == "client namespace disconnect"
    client.echo("still")


def test_event_to_a_namespace_left_closes_the_connection(server, raw, wait_for):
    client = raw()
    client.connect()
    client.send("1")
    client.send('2["echo"]')
    assert client.expect_closed() == []


# -- the connect timeout ----------------------------------------------------------------------


@pytest.fixture
def quick(start_server):
    """A server whose connections must join a namespace within one second."""
    return start_server("sio_app", "--connect-timeout", "1", *OPTIONS, shared=True)


def test_connect_timeout_closes_a_connection_that_joins_nothing(quick):
    joined = Raw(quick)
    idle = Raw(quick)
    try:
        joined.connect()
        assert idle.expect_closed() == []
        # The timer of the one that joined was due before the idle one's: it is still open.
        joined.echo("still open")
    finally:
        joined.close()
        idle.close()


def test_connect_timeout_after_a_refused_connect(quick):
    # As in Node, only a namespace that was joined counts: a refused CONNECT does not.
    for auth in ('{"token":"bad"}', '{"token":"false"}'):
        client = Raw(quick)
        try:
            client.send("0" + auth)
            assert client.receive().startswith('4{"message":')
            assert client.expect_closed() == []
        finally:
            client.close()


def test_connect_timeout_after_an_invalid_namespace(quick):
    client = Raw(quick)
    try:
        client.send("0/nope,")
        assert client.receive() == '4/nope,{"message":"Invalid namespace"}'
        assert client.expect_closed() == []
    finally:
        client.close()


def test_connect_timeout_does_not_apply_after_a_namespace_was_joined(quick, wait_for):
    # A client that joined and then left every namespace stays connected, as in Node.
    client = Raw(quick)
    watcher = Raw(quick)
    try:
        sid = client.connect()
        client.send("1")
        assert disconnect_reason(quick, wait_for, sid) == "client namespace disconnect"
        assert watcher.expect_closed() == []  # its timer was due after the other's
        client.connect()
        client.echo("still open")
    finally:
        client.close()
        watcher.close()
