"""gsio.server.files: file-like objects in an emit's arguments, read before the packet is
encoded (in memory; the real clients are in test_files_clients.py)."""

import io
import os
import threading
import tracemalloc

import pytest

from gsio.exceptions import FileTooLarge, GsioError
from gsio.server.files import CHUNK, files_read, has_file, read_file, read_files


class Reads(io.RawIOBase):
    """An unseekable raw stream of ``data``, ``step`` bytes per read; counts what was read."""

    def __init__(self, data: bytes, step: int = 1000) -> None:
        self.data, self.step, self.done = data, step, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.step, len(self.data) - self.done)
        buffer[:n] = self.data[self.done : self.done + n]
        self.done += n
        return n


class Unreadable(io.BytesIO):
    """A file of known size that must not be read."""

    def readinto(self, buffer) -> int:
        raise AssertionError("read before its size was checked")

    read = readinto  # type: ignore[assignment]


def test_a_regular_file_is_read_from_its_position_and_left_open(tmp_path) -> None:
    data = os.urandom(300_000)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    with open(path, "rb") as f:
        f.read(1000)  # read from where it stands, as Go's io.Reader
        assert read_file(f, 1_000_000) == data[1000:]
        assert not f.closed and f.tell() == len(data)
        assert read_file(f, 0) == b""  # at its end: nothing left
    with open(path, "rb", buffering=0) as raw:  # FileIO: short reads are fine
        assert read_file(raw, len(data)) == data


@pytest.mark.parametrize(
    "make",
    [
        lambda data: io.BufferedReader(Reads(data)),
        lambda data: Reads(data, step=CHUNK + 7),
        lambda data: io.BytesIO(data),
    ],
    ids=["buffered-raw-stream", "raw-stream", "bytesio"],
)
def test_streams_and_memory_files(make) -> None:
    data = os.urandom(200_000)
    assert read_file(make(data), len(data)) == data


def test_a_pipe(tmp_path) -> None:
    data = os.urandom(300_000)
    r, w = os.pipe()

    def write() -> None:
        with open(w, "wb") as out:
            out.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    with open(r, "rb") as f:
        assert read_file(f, len(data)) == data
    writer.join()


def test_text_is_sent_as_utf8(tmp_path) -> None:
    assert read_file(io.StringIO("é" * 100_000), 200_000) == "é".encode() * 100_000
    path = tmp_path / "t.txt"
    path.write_text("héllo", encoding="utf-8")
    with open(path, encoding="utf-8") as f:
        assert read_file(f, 100) == b"h\xc3\xa9llo"


def test_over_the_limit_with_a_known_size_nothing_is_read(tmp_path) -> None:
    f = Unreadable(b"x" * 101)
    f.seek(0)
    with pytest.raises(FileTooLarge) as raised:
        read_file(f, 100)
    assert raised.value.size == 101 and raised.value.limit == 100
    assert isinstance(raised.value, GsioError) and isinstance(raised.value, ValueError)
    assert str(raised.value) == "a file emitted holds 101 bytes: over max_payload (100 bytes)"
    assert f.tell() == 0 and not f.closed  # where it was
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 101)
    with open(path, "rb") as real, pytest.raises(FileTooLarge):
        read_file(real, 100)


def test_over_the_limit_a_stream_is_read_to_limit_plus_one_at_most() -> None:
    raw = Reads(os.urandom(500_000), step=CHUNK)
    with pytest.raises(FileTooLarge) as raised:
        read_file(raw, 100_000)
    assert raised.value.size is None
    assert raw.done == 100_001
    assert str(raised.value) == "a file emitted holds more: over max_payload (100,000 bytes)"


def test_exactly_the_limit_is_fine() -> None:
    assert len(read_file(Reads(b"x" * 1000), 1000)) == 1000
    assert len(read_file(io.BytesIO(b"x" * 1000), 1000)) == 1000


def test_the_files_of_one_emit_share_the_limit() -> None:
    assert read_files([io.BytesIO(b"a" * 60), io.BytesIO(b"b" * 40)], 100) == [
        b"a" * 60,
        b"b" * 40,
    ]
    with pytest.raises(FileTooLarge) as raised:
        read_files([io.BytesIO(b"a" * 60), {"x": io.BytesIO(b"b" * 41)}], 100)
    assert raised.value.limit == 40 and raised.value.size == 41


def test_nested_files_are_found_and_replaced_the_rest_shared() -> None:
    shared = {"plain": [1, 2]}
    args = ("name", {"meta": shared, "parts": [io.BytesIO(b"1"), (io.BytesIO(b"2"), "t")]})
    assert has_file(args)
    assert read_files(args, 10) == [
        "name",
        {"meta": {"plain": [1, 2]}, "parts": [b"1", (b"2", "t")]},
    ]
    assert not has_file(("x", 1, 2.5, None, True, b"b", bytearray(b"c"), {"a": [{"b": ()}]}))


def test_without_files_the_arguments_are_passed_as_they_are() -> None:
    class Server:
        max_payload = 10

    args = ("a", {"b": [b"c"]})
    assert files_read(args, Server()) is args
    assert files_read((io.BytesIO(b"x" * 10),), Server()) == [b"x" * 10]
    with pytest.raises(FileTooLarge):
        files_read((io.BytesIO(b"x" * 11),), Server())


def test_a_50_mb_file_is_held_once(tmp_path) -> None:
    size = 50_000_000
    path = tmp_path / "big.bin"
    with open(path, "wb") as out:
        block = os.urandom(1 << 20)
        for _ in range(size // len(block)):
            out.write(block)
        out.write(block[: size % len(block)])
    with open(path, "rb") as f:
        tracemalloc.start()
        try:
            data = read_file(f, size)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert type(data) is bytes and len(data) == size and data[: len(block)] == block
    assert peak < size * 1.05, f"peak {peak:,} bytes for a {size:,}-byte file"
