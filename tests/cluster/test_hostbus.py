"""The in-host bus (gsio/cluster/hostlink.py) between real processes, and its frames and
channel patterns (gsio/cluster/hostwire.py, pure)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from conftest import ROOT

from gsio.cluster import hostwire as wire
from gsio.cluster.hostlink import HostLink
from gsio.exceptions import ProtocolError
from gsio.io.concurrency import ThreadingConcurrency

# -- frames and patterns (pure) ----------------------------------------------------------------


def test_frames_round_trip_fed_a_byte_at_a_time():
    big = bytes(range(256)) * 1024
    stream = (
        wire.encode(wire.HELLO, "1a2b")
        + wire.encode(wire.PUBLISH, "socket.io#/#r#", big)
        + wire.encode(wire.PUBLISH, "é", b"")
        + wire.encode_subs(["b", "a"], ["x*"])
    )
    reader = wire.FrameReader()
    frames = []
    for i in range(0, len(stream), 1000):
        frames.extend(reader.feed(stream[i : i + 1000]))
    assert frames[:3] == [
        (wire.HELLO, "1a2b", b""),
        (wire.PUBLISH, "socket.io#/#r#", big),
        (wire.PUBLISH, "é", b""),
    ]
    assert frames[3][0] == wire.SUBS
    assert wire.decode_subs(frames[3][2]) == ({"a", "b"}, {"x*"})
    assert reader.feed(b"") == []


@pytest.mark.parametrize(
    "data",
    [
        b"\x09\x00\x00\x00\x00\x00\x00",
        b"\x02\x00\x00\x7f\xff\xff\xff",
        b"\x02\x00\x01\x00\x00\x00\x00\xff",
    ],
)
def test_what_is_not_a_frame_is_refused(data):
    with pytest.raises(ProtocolError):
        wire.FrameReader().feed(data)


@pytest.mark.parametrize("data", [b"[]", b'{"channels": [1], "patterns": []}', b"{"])
def test_a_bad_subscription_frame_is_refused(data):
    with pytest.raises(ProtocolError):
        wire.decode_subs(data)


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        ("socket.io#/#*", ["socket.io#/#", "socket.io#/#r#"], ["socket.io#/chat#"]),
        ("h?llo", ["hello", "hallo"], ["hllo", "heello"]),
        ("h[ae]llo", ["hello", "hallo"], ["hillo"]),
        ("h[^e]llo", ["hallo"], ["hello"]),
        ("h[a-b]llo", ["hbllo"], ["hcllo"]),
        ("a\\*b*", ["a*b", "a*bc"], ["axb"]),
        ("*.x", ["a.x", ".x"], ["a.y"]),
    ],
)
def test_patterns_match_as_redis_does(pattern, yes, no):
    match = wire.glob_matcher(pattern)
    assert all(match(c) for c in yes), yes
    assert not any(match(c) for c in no), no


# -- the bus between processes -------------------------------------------------------------------

PEER = """
import sys, time
from gsio.cluster.hostlink import HostLink
from gsio.io.concurrency import ThreadingConcurrency
link = HostLink(sys.argv[1], ThreadingConcurrency())
def echo(channel, data):
    link.publish("back", channel.encode() + b" " + data)
link.subscribe(["req"], ["bc#*"], echo)
print("READY", link.tag, flush=True)
sys.stdin.read()
link.close()
"""


@pytest.fixture
def bus():
    directory = os.path.join(tempfile.mkdtemp(prefix="gsio-hostbus-"), "bus")
    links, peers = [], []

    def peer():
        proc = subprocess.Popen(
            [sys.executable, "-c", PEER, directory],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        peers.append(proc)
        line = proc.stdout.readline().split()
        assert line and line[0] == "READY", line
        return proc, line[1]

    def link():
        made = HostLink(directory, ThreadingConcurrency(), rescan=0.2)
        links.append(made)
        return made

    yield directory, link, peer
    for made in links:
        made.close()
    for proc in peers:
        proc.kill()
        proc.wait(5)


def _until(predicate, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_publications_reach_the_subscribed_peers_in_order(bus):
    directory, make_link, peer = bus
    here = make_link()
    got = []
    here.subscribe(["back"], [], lambda channel, data: got.append(data))
    peer()
    peer()
    _until(lambda: here.numsub("req") == 2, "two peers counted")
    assert here.numsub("back") == 1 and here.numsub("nobody") == 0
    for i in range(200):
        here.publish("req" if i % 2 else "bc#/#r#", b"%d" % i)
    here.publish("ignored", b"x")
    big = b"z" * 300_000
    here.publish("req", big)
    _until(lambda: len(got) == 402, f"402 echoes, {len(got)}")
    # (The two peers' echo streams interleave: one's last echo may come after the other's big.)
    assert got.count(b"req " + big) == 2
    # Each peer gets every publication once, in order, and echoes it on one connection: in
    # the two echo streams merged, the first copies of 0..199 come in order, the second too.
    numbers = []
    for data in (d for d in got if d != b"req " + big):
        channel, n = data.split()
        assert channel == (b"req" if int(n) % 2 else b"bc#/#r#")
        numbers.append(int(n))
    assert sorted(numbers) == sorted(list(range(200)) * 2)
    at: dict[int, list[int]] = {}
    for index, n in enumerate(numbers):
        at.setdefault(n, []).append(index)
    for copy in (0, 1):
        assert [at[n][copy] for n in range(200)] == sorted(at[n][copy] for n in range(200))
    assert sorted(os.listdir(directory)) == sorted(f"{t}.bus" for t in [here.tag, *here.peers])


def test_a_killed_peer_is_dropped_and_its_socket_removed(bus, caplog):
    directory, make_link, peer = bus
    here = make_link()
    got = []
    here.subscribe(["back"], [], lambda channel, data: got.append(data))
    victim, tag = peer()
    other, _ = peer()
    _until(lambda: here.numsub("req") == 2, "two peers counted")
    caplog.set_level("INFO", "gsio.hostbus")
    victim.send_signal(signal.SIGKILL)
    victim.wait(5)
    _until(lambda: tag not in here.peers, "the killed peer dropped")
    assert here.numsub("req") == 1
    started = time.monotonic()
    here.publish("req", b"still")
    _until(lambda: got == [b"req still"], "the other peer answered")
    assert time.monotonic() - started < 2
    _until(lambda: f"{tag}.bus" not in os.listdir(directory), "the dead socket removed")
    gone = [r.getMessage() for r in caplog.records if "is gone" in r.getMessage()]
    assert gone == [gone[0]] and tag in gone[0], gone
    other.stdin.close()  # a peer that closes: dropped, its socket removed by itself
    _until(lambda: here.numsub("req") == 0 and here.peers == [], "the closed peer dropped")
    assert os.listdir(directory) == [f"{here.tag}.bus"]


def test_a_peer_that_starts_later_is_connected_both_ways_at_once(bus):
    _, make_link, peer = bus
    here = make_link()
    here.rescan = 3600.0  # only the peer's hello can make this side connect back
    got = []
    here.subscribe(["back"], [], lambda channel, data: got.append(data))
    time.sleep(0.3)  # the first scan is over
    _, tag = peer()
    _until(lambda: here.numsub("req") == 1, "the new peer counted")
    here.publish("req", b"hi")
    _until(lambda: got == [b"req hi"], "its answer")


def test_a_directory_open_to_others_is_refused(tmp_path):
    directory = tmp_path / "bus"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    with pytest.raises(PermissionError):
        HostLink(str(directory), ThreadingConcurrency())
