"""Raw HTTP for the tests that write requests byte by byte."""

import re


def read_response(sock):
    """One response off ``sock`` (a Content-Length body): its head, the blank line and its
    body, as bytes; not what may follow (the next response). What arrived, if the connection
    closed before the end of the head or body."""
    data = bytearray()
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(data)
        data += chunk
    end = data.index(b"\r\n\r\n") + 4
    length = int(re.search(rb"(?i)content-length: *(\d+)", data[:end]).group(1))
    while len(data) < end + length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return bytes(data[: end + length])
