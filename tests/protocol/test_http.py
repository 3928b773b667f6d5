"""gsio.protocol.http: JSON error answers, the query string, CORS and response compression."""

from __future__ import annotations

import gzip
import zlib

import pytest

from gsio.protocol.http import (
    ERROR_MESSAGES,
    Cors,
    Response,
    compress,
    error_response,
    parse_query,
    valid_header_value,
)

A = "https://a.example"
B = "https://b.example"
EVIL = "https://evil.example"

ALLOW_ORIGIN = "Access-Control-Allow-Origin"
VARY = ("Vary", "Origin")
CREDENTIALS = ("Access-Control-Allow-Credentials", "true")
METHODS = ("Access-Control-Allow-Methods", "OPTIONS, GET, POST")
# A preflight's one Vary header (as Node's cors: the allowed headers echo the requested ones).
PREFLIGHT_VARY = ("Vary", "Origin, Access-Control-Request-Headers")
VARY_REQUEST_HEADERS = ("Vary", "Access-Control-Request-Headers")


def environ(origin: str | None = None, **extra: str) -> dict:
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/socket.io/", "QUERY_STRING": ""}
    if origin is not None:
        env["HTTP_ORIGIN"] = origin
    env.update(extra)
    return env


def call(response: Response) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a Response as a WSGI app would: returns the status line, the headers, the body."""
    seen = []

    def start_response(status, headers):
        seen.append((status, headers))

    body = b"".join(response(start_response))
    assert len(seen) == 1
    return seen[0][0], seen[0][1], body


# -- JSON errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, status, body, status_line",
    [
        (0, 400, b'{"code":0,"message":"Transport unknown"}', "400 Bad Request"),
        (1, 400, b'{"code":1,"message":"Session ID unknown"}', "400 Bad Request"),
        (2, 400, b'{"code":2,"message":"Bad handshake method"}', "400 Bad Request"),
        (3, 400, b'{"code":3,"message":"Bad request"}', "400 Bad Request"),
        (4, 403, b'{"code":4,"message":"Forbidden"}', "403 Forbidden"),
        (5, 400, b'{"code":5,"message":"Unsupported protocol version"}', "400 Bad Request"),
    ],
)
def test_error_response(code, status, body, status_line):
    response = error_response(code, status)
    assert response.status == status
    assert response.body == body
    assert response.headers == [("Content-Type", "application/json")]
    assert call(response) == (
        status_line,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        body,
    )


def test_error_response_defaults_to_400():
    assert error_response(1).status == 400


def test_error_messages_table():
    assert ERROR_MESSAGES == {
        0: "Transport unknown",
        1: "Session ID unknown",
        2: "Bad handshake method",
        3: "Bad request",
        4: "Forbidden",
        5: "Unsupported protocol version",
    }


@pytest.mark.parametrize(
    "args, body",
    [
        ((3, 413, "Payload too large"), b'{"code":3,"message":"Payload too large"}'),
        ((9,), b'{"code":9,"message":"Bad request"}'),
        ((3, 400, 'quote " and é'), b'{"code":3,"message":"quote \\" and \\u00e9"}'),
    ],
)
def test_error_response_message(args, body):
    assert error_response(*args).body == body


def test_response_status_lines_and_content_length():
    assert call(Response(204)) == ("204 No Content", [("Content-Length", "0")], b"")
    assert call(Response(413, body=b"x")) == (
        "413 Payload Too Large",
        [("Content-Length", "1")],
        b"x",
    )
    assert call(Response(418))[0] == "418 Unknown"


def test_response_call_does_not_grow_its_headers():
    response = Response(200, [("Content-Type", "text/plain")], b"ok")
    call(response)
    call(response)
    assert response.headers == [("Content-Type", "text/plain")]


# -- the query string ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, query",
    [
        ({}, {}),
        ({"QUERY_STRING": ""}, {}),
        (
            {"QUERY_STRING": "EIO=4&transport=polling&t=NxYz1"},
            {"EIO": "4", "transport": "polling", "t": "NxYz1"},
        ),
        ({"QUERY_STRING": "sid=first&sid=second"}, {"sid": "first"}),
        ({"QUERY_STRING": "sid="}, {"sid": ""}),
        ({"QUERY_STRING": "EIO=4&&transport=websocket"}, {"EIO": "4", "transport": "websocket"}),
        ({"QUERY_STRING": "a=%20b+c&%C3%A9=%E2%9C%93"}, {"a": " b c", "é": "✓"}),
    ],
)
def test_parse_query(env, query):
    assert parse_query(env) == query


# -- CORS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [None, A, EVIL])
def test_cors_off(origin):
    cors = Cors()
    assert cors.enabled is False
    assert cors.allows(origin) is True
    assert cors.headers(environ(origin)) == []
    response = cors.preflight(environ(origin, HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-token"))
    assert response.status == 204
    assert response.headers == []


@pytest.mark.parametrize(
    "origins, credentials, origin, allowed, headers",
    [
        # a list: the listed origins are echoed, with Vary; the others get nothing
        pytest.param([A, B], False, A, True, [(ALLOW_ORIGIN, A), VARY], id="list-a"),
        pytest.param([A, B], False, B, True, [(ALLOW_ORIGIN, B), VARY], id="list-b"),
        pytest.param([A, B], False, EVIL, False, [], id="list-unlisted"),
        pytest.param([A, B], False, A + "/", False, [], id="list-exact-match-only"),
        pytest.param([A, B], False, None, True, [], id="list-no-origin-header"),
        pytest.param([A], True, A, True, [(ALLOW_ORIGIN, A), VARY, CREDENTIALS], id="list-creds"),
        pytest.param([A], True, EVIL, False, [], id="list-creds-unlisted"),
        # one origin as a string is a list of one (not a set of characters)
        pytest.param(A, False, A, True, [(ALLOW_ORIGIN, A), VARY], id="string"),
        pytest.param(A, False, "h", False, [], id="string-is-not-a-substring-test"),
        # "*": everyone; with credentials the origin is echoed, never "*"
        pytest.param("*", False, EVIL, True, [(ALLOW_ORIGIN, "*")], id="star"),
        pytest.param("*", False, None, True, [], id="star-no-origin-header"),
        pytest.param(
            "*", True, EVIL, True, [(ALLOW_ORIGIN, EVIL), VARY, CREDENTIALS], id="star-creds"
        ),
        # a callable decides
        pytest.param(
            lambda o: o.endswith(".example"),
            False,
            A,
            True,
            [(ALLOW_ORIGIN, A), VARY],
            id="callable-yes",
        ),
        pytest.param(
            lambda o: o.endswith(".example"), False, "https://x.test", False, [], id="callable-no"
        ),
        pytest.param(
            lambda o: o == B,
            True,
            B,
            True,
            [(ALLOW_ORIGIN, B), VARY, CREDENTIALS],
            id="callable-creds",
        ),
    ],
)
def test_cors_policy(origins, credentials, origin, allowed, headers):
    cors = Cors(origins, credentials=credentials)
    assert cors.enabled is True
    assert cors.allows(origin) is allowed
    assert cors.headers(environ(origin)) == headers


def test_cors_callable_is_asked_with_the_origin():
    asked = []

    def policy(origin):
        asked.append(origin)
        return origin == A

    cors = Cors(policy)
    assert cors.headers(environ(A)) == [(ALLOW_ORIGIN, A), VARY]
    assert cors.headers(environ(EVIL)) == []
    assert cors.allows(None) is True  # no Origin: the policy is not asked
    assert asked == [A, EVIL]


def test_cors_star_with_credentials_never_sends_star():
    cors = Cors("*", credentials=True)
    for origin in (A, B, EVIL):
        values = dict(cors.headers(environ(origin)))
        assert values[ALLOW_ORIGIN] == origin
        assert "*" not in values.values()


@pytest.mark.parametrize(
    "origins, credentials, origin, requested, headers",
    [
        pytest.param(
            [A],
            False,
            A,
            "content-type, x-token",
            [
                (ALLOW_ORIGIN, A),
                PREFLIGHT_VARY,
                METHODS,
                ("Access-Control-Allow-Headers", "content-type, x-token"),
            ],
            id="echoes-requested-headers",
        ),
        pytest.param(
            [A],
            False,
            A,
            None,
            [(ALLOW_ORIGIN, A), PREFLIGHT_VARY, METHODS],
            id="no-request-headers",
        ),
        pytest.param(
            "*",
            True,
            B,
            "x-token",
            [
                (ALLOW_ORIGIN, B),
                PREFLIGHT_VARY,
                CREDENTIALS,
                METHODS,
                ("Access-Control-Allow-Headers", "x-token"),
            ],
            id="star-credentials",
        ),
        pytest.param(
            "*", False, B, None, [(ALLOW_ORIGIN, "*"), VARY_REQUEST_HEADERS, METHODS], id="star"
        ),
        pytest.param([A], False, EVIL, "x-token", [], id="disallowed-origin"),
        pytest.param([A], False, None, "x-token", [], id="no-origin"),
        pytest.param(
            "*",
            True,
            "https://a\x01.example",
            "x-token",
            [],
            id="origin-with-a-control-character-is-never-echoed",
        ),
        pytest.param(
            [A],
            False,
            A,
            "x-token\x00",
            [(ALLOW_ORIGIN, A), PREFLIGHT_VARY, METHODS],
            id="requested-headers-with-a-control-character-are-not-echoed",
        ),
    ],
)
def test_cors_preflight(origins, credentials, origin, requested, headers):
    extra = {} if requested is None else {"HTTP_ACCESS_CONTROL_REQUEST_HEADERS": requested}
    env = environ(origin, REQUEST_METHOD="OPTIONS", **extra)
    response = Cors(origins, credentials=credentials).preflight(env)
    assert response.status == 204
    assert response.body == b""
    assert response.headers == headers


def test_cors_preflight_does_not_leak_into_later_answers():
    cors = Cors([A])
    cors.preflight(environ(A, HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-token"))
    assert cors.headers(environ(A)) == [(ALLOW_ORIGIN, A), VARY]


@pytest.mark.parametrize(
    "value, valid",
    [
        ("https://a.example", True),
        ("", True),
        ("tab\tinside", True),
        ("latin-1 \xe9\xff", True),
        ("ctl\x01", False),
        ("nul\x00", False),
        ("del\x7f", False),
        ("lf\n", False),
        ("esc\x1b[0m", False),
        ("wide \u0100", False),  # not a byte: never from a WSGI environ
    ],
)
def test_valid_header_value(value, valid):
    assert valid_header_value(value) is valid


# -- compression --------------------------------------------------------------------------------

BODY = b'4["message",' + b'"hello world, " ' * 200 + b"]"


def decompress(body: bytes, headers: list[tuple[str, str]]) -> bytes:
    encoding = dict(headers).get("Content-Encoding")
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)  # HTTP "deflate" is the zlib format
    assert encoding is None
    return body


@pytest.mark.parametrize(
    "accept, encoding",
    [
        pytest.param("gzip", "gzip", id="gzip"),
        pytest.param("deflate", "deflate", id="deflate"),
        pytest.param("gzip, deflate, br", "gzip", id="browser"),
        pytest.param("deflate, gzip", "gzip", id="gzip-preferred-whatever-the-order"),
        pytest.param("GZIP", "gzip", id="case-insensitive"),
        pytest.param("gzip;q=0.5", "gzip", id="gzip-q-half"),
        pytest.param("gzip;q=0, deflate", "deflate", id="gzip-refused-deflate-taken"),
        pytest.param("gzip; q=0.0, deflate;q=0", None, id="both-refused"),
        pytest.param("gzip;q=0", None, id="gzip-q0"),
        pytest.param("deflate;q=0.000", None, id="deflate-q0.000"),
        pytest.param("br", None, id="br-only"),
        pytest.param("identity", None, id="identity"),
        pytest.param("", None, id="empty-header"),
        pytest.param(None, None, id="no-header"),
    ],
)
def test_compress(accept, encoding):
    env = environ() if accept is None else environ(HTTP_ACCEPT_ENCODING=accept)
    body, headers = compress(BODY, env, threshold=1024)
    if encoding is None:
        assert headers == []
        assert body == BODY
    else:
        assert headers == [("Content-Encoding", encoding)]
        assert len(body) < len(BODY)
    assert decompress(body, headers) == BODY


@pytest.mark.parametrize(
    "size, threshold, compressed",
    [
        (1023, 1024, False),
        (1024, 1024, True),
        (1025, 1024, True),
        (0, 0, True),
        (10, 0, True),
        (0, 1, False),
    ],
)
def test_compress_threshold(size, threshold, compressed):
    body = b"a" * size
    out, headers = compress(body, environ(HTTP_ACCEPT_ENCODING="gzip"), threshold)
    assert (headers == [("Content-Encoding", "gzip")]) is compressed
    assert (out != body) is compressed
    assert decompress(out, headers) == body


def test_imf_fixdate_is_wsgirefs():
    """The Date header's format, by arithmetic in the pure core: wsgiref's, over four centuries
    of days (leap years, century years, 2000) and the seconds of a day."""
    import random
    from wsgiref.handlers import format_date_time

    from gsio.protocol.http import imf_fixdate

    rng = random.Random(5)
    days = [*range(0, 366 * 4), *(rng.randrange(0, 146097 * 2) for _ in range(5000))]
    for day in days:
        second = day * 86400 + rng.randrange(86400)
        assert imf_fixdate(second) == format_date_time(second), second
    for second in (0, 86399, 951782400, 951868799, 4102444800, 2**31 - 1):
        assert imf_fixdate(second) == format_date_time(second), second
