"""gsio/io/pollhead.py: what the event loop's polling connections do per request, on bytes.

A connection's heads are parsed once (:class:`HeadCache`): a head sent again must get what a
first parse gives, in a new environ each time; a response is written as the core's
serializer writes it, whatever its headers.
"""

import pytest

from gsio.io.pollhead import HAND_BACK, HeadCache, parse_request, serialize
from gsio.protocol.http import Response, http_date
from gsio.protocol.request import serialize_response

PATH = "/socket.io/"
SID_PATH = "/socket.io/?EIO=4&transport=polling&sid=abc"


def _get(extra=b""):
    return b"GET " + SID_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n"


def _post(body, extra=b""):
    return (
        b"POST " + SID_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: %d\r\n" % len(body) + extra + b"\r\n" + body
    )


def _with_extra(result, extra):
    if not isinstance(result, tuple):
        return result
    environ, query, body, size = result
    return {**environ, **extra}, query, body, size


BUFFERS = [
    _get(),
    _get() + _post(b"4a"),  # pipelined: only the first
    _post(b"4hello"),
    _post(b"4hello")[:-2],  # the body not all there: handed back
    _post(b"4hello") + _get(),
    _post(b"4" + b"x" * 200),  # over the limit: not waited for
    _get()[:-2],  # the head not all there
    _get(b"Connection: close\r\n"),
    _get(b"Origin: http://a\r\nCookie: a=1\r\nCookie: b=2\r\n"),
    _get().replace(b"HTTP/1.1", b"HTTP/1.0"),
    _get(b"Content-Length: 3\r\n"),
    _post(b"4x", b"Transfer-Encoding: chunked\r\n"),
    _get().replace(b"sid=abc", b"x=1"),
    b"",
]


@pytest.mark.parametrize("buf", BUFFERS)
def test_a_head_parsed_again_is_what_it_parsed_to_the_first_time(buf):
    extra = {"gsio.hand_over": object()}
    cache = HeadCache(PATH, extra)
    expected = _with_extra(parse_request(buf, PATH, 100), extra)
    for _ in range(3):
        assert cache.parse(buf, 100) == expected


def test_every_request_gets_its_own_environ_and_query():
    cache = HeadCache(PATH, {})
    first = cache.parse(_get(), 100)
    first[0]["gsio.protocol"] = 3  # as the engine adds to it
    first[1]["sid"] = "changed"
    environ, query, body, size = cache.parse(_get(), 100)
    assert "gsio.protocol" not in environ and query["sid"] == "abc"
    assert environ is not first[0] and query is not first[1]


def test_a_known_head_takes_its_own_body_each_time():
    cache = HeadCache(PATH, {})
    for body in (b"4one", b"4two", b"4six"):  # one head: the same Content-Length
        buf = _post(body) + _get()
        environ, _, got, size = cache.parse(buf, 100)
        assert got == body and buf[size:] == _get()
        assert environ["CONTENT_LENGTH"] == "4"
    # A known head whose body is still on its way is handed back, as the first time.
    assert cache.parse(_post(b"4one")[:-1], 100) is HAND_BACK
    # The limit is the one of each call (max_payload), not the first's.
    assert cache.parse(_post(b"4one"), 3)[2] is None


def test_many_heads_on_one_connection_are_all_parsed_right():
    cache = HeadCache(PATH, {})
    for n in range(40):  # more heads than are kept
        body = b"4" + b"y" * n
        assert cache.parse(_post(body), 100)[2] == body
        assert cache.parse(_get(), 100)[2] == b""


@pytest.mark.parametrize(
    "status, headers, body",
    [
        (200, [("Content-Type", "text/html")], b"ok"),
        (200, [("Content-Type", "text/plain; charset=UTF-8")], b"4hello\x1e4\xc3\xa9"),
        (200, [("Content-Type", "text/html"), ("Access-Control-Allow-Origin", "http://a")], b""),
        (400, [("Content-Type", "application/json")], b'{"code":3}'),
        (413, [], b""),
        (200, [("Content-Type", "text/html"), ["X-List", "pair"]], b"ok"),  # a hook's list
        (200, [("Content-Type", "text/html"), ("X-Latin", "caf\xe9")], b"ok"),
    ],
)
def test_a_response_is_written_as_the_core_writes_it(status, headers, body):
    from gsio.protocol.http import STATUS_LINES

    date = http_date(1_700_000_000.0)
    expected = bytes(serialize_response(STATUS_LINES[status], headers, body, date, True))
    for _ in range(2):  # made, then kept
        assert serialize(Response(status, list(headers), body), date) == expected


def test_responses_that_differ_in_a_header_value_each_get_theirs():
    date = http_date(1_700_000_000.0)
    for i in range(300):  # more kinds than are kept
        out = serialize(Response(200, [("X-N", str(i))], b"ok"), date)
        assert b"\r\nX-N: %d\r\nContent-Length: 2\r\n\r\nok" % i in out


def _line(line: bytes, extra=b"Cookie: a=1\r\n"):
    return line + b"\r\nHost: x\r\n" + extra + b"\r\n"


# One set of header lines behind many request lines: socket.io-client's polls differ in their
# query (a new "t" each), and others in what the cache must not take for a known head.
LINES = [
    b"GET /socket.io/?EIO=4&transport=polling&t=P1&sid=abc HTTP/1.1",
    b"GET /socket.io/?EIO=4&transport=polling&t=P2&sid=abc HTTP/1.1",
    b"GET /socket.io/?EIO=4&transport=polling&t=P2&sid=abc HTTP/1.1",
    b"GET /socket.io/?EIO=4&transport=polling&t=P3&sid=xyz HTTP/1.1",
    b"GET /socket.io/?EIO=4&transport=websocket&t=P4&sid=abc HTTP/1.1",  # not a poll
    b"GET /socket.io/?EIO=4&transport=polling&t=P5 HTTP/1.1",  # no sid: a handshake
    b"GET /socket.io/?EIO=4&transport=polling&t=P 6&sid=abc HTTP/1.1",  # four words
    b"GET /socket.io/?EIO=4&transport=polling&t=P7&sid=abc HTTP/1.0",
    b"GET /socket.io/?EIO=4&transport=polling&t=P8&sid=abc HTTP/1.1 ",
    b"GET /other/?EIO=4&transport=polling&t=P9&sid=abc HTTP/1.1",
    b"GET /socket.io/ HTTP/1.1",
    b"GET /socket.io/?EIO=4&transport=polling&t=P10&sid=abc&sid=def HTTP/1.1",
    b"PUT /socket.io/?EIO=4&transport=polling&t=P11&sid=abc HTTP/1.1",
    b"GET  /socket.io/?EIO=4&transport=polling&t=P12&sid=abc HTTP/1.1",
    b"GET /socket.io/?EIO=4&transport=polling&t=P13&sid=abc HTTP/1.1",
]


def test_a_known_set_of_header_lines_behind_a_new_request_line_parses_as_it_does_alone():
    extra = {"gsio.hand_over": object()}
    cache = HeadCache(PATH, extra)
    for line in LINES:
        buf = _line(line)
        assert cache.parse(buf, 100) == _with_extra(parse_request(buf, PATH, 100), extra), line
    for line in LINES:  # a POST's: the same, with its body
        buf = _line(line.replace(b"GET", b"POST", 1), b"Content-Length: 2\r\n") + b"4x"
        assert cache.parse(buf, 100) == _with_extra(parse_request(buf, PATH, 100), extra), line


def test_a_new_query_gets_its_own_parse():
    cache = HeadCache(PATH, {})
    cache.parse(_line(LINES[0]), 100)
    environ, query, _, _ = cache.parse(_line(LINES[3]), 100)
    assert query == {"EIO": "4", "transport": "polling", "t": "P3", "sid": "xyz"}
    assert environ["QUERY_STRING"] == "EIO=4&transport=polling&t=P3&sid=xyz"
