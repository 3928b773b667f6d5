"""gsio/io/concurrency.py's gevent pieces, in this process (greenlets need no monkey-patching)."""

import queue

import gevent
import pytest

from gsio.io.concurrency import GeventConcurrency


@pytest.fixture
def c():
    return GeventConcurrency()


def test_queue_is_fifo_and_put_never_blocks(c):
    q = c.queue()
    for i in range(1000):
        q.put(i)
    assert q.qsize() == 1000
    assert [q.get() for _ in range(1000)] == list(range(1000))
    assert q.qsize() == 0


def test_queue_get_waits_for_a_put(c):
    q = c.queue()
    got = []
    getter = gevent.spawn(lambda: got.append(q.get()))
    gevent.sleep(0.01)
    assert got == []
    q.put("x")
    getter.join(1)
    assert got == ["x"]


def test_queue_getters_are_served_in_order(c):
    q = c.queue()
    got = []
    getters = [gevent.spawn(lambda i=i: got.append((i, q.get()))) for i in range(3)]
    gevent.sleep(0.01)
    for item in "abc":
        q.put(item)
    gevent.joinall(getters, timeout=1)
    assert got == [(0, "a"), (1, "b"), (2, "c")]


def test_queue_get_times_out_with_empty(c):
    q = c.queue()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    with pytest.raises(queue.Empty):
        q.get(timeout=0)
    # The timed-out getter is gone: the next item goes to the next get().
    q.put(1)
    assert q.get(timeout=1) == 1


def test_queue_items_put_while_a_getter_waits_all_arrive(c):
    q = c.queue()
    got = []

    def consume():
        while len(got) < 100:
            got.append(q.get())

    consumer = gevent.spawn(consume)
    gevent.sleep(0.01)
    for i in range(100):
        q.put(i)
        if i % 7 == 0:
            gevent.sleep(0)
    consumer.join(1)
    assert got == list(range(100))


def test_a_killed_getter_leaves_the_queue_usable(c):
    q = c.queue()
    getter = gevent.spawn(q.get)
    gevent.sleep(0.01)
    getter.kill()
    q.put("after")
    assert q.get(timeout=1) == "after"


def test_read_waiter_wakes_when_data_arrives(c):
    from gevent import socket

    a, b = socket.socketpair()
    wait = c.read_waiter(a)
    woke = []
    waiter = gevent.spawn(lambda: (wait(), woke.append(a.recv(10))))
    gevent.sleep(0.01)
    assert woke == []
    b.sendall(b"hi")
    waiter.join(1)
    assert woke == [b"hi"]
    a.close()
    b.close()


def test_watch_read_calls_back_until_cancelled(c):
    from gevent import socket

    a, b = socket.socketpair()
    got = []
    handle = c.watch_read(a.fileno(), lambda: got.append(a.recv(10)))
    b.sendall(b"one")
    gevent.sleep(0.05)
    b.sendall(b"two")
    gevent.sleep(0.05)
    handle.cancel()
    b.sendall(b"three")
    gevent.sleep(0.05)
    assert got == [b"one", b"two"]
    a.close()
    b.close()


def test_light_event_wakes_every_waiter_and_stays_set(c):
    event = c.light_event()
    got = []
    waiters = [gevent.spawn(lambda i=i: got.append((i, event.wait(5)))) for i in range(3)]
    gevent.sleep(0.01)
    assert got == [] and not event.is_set()
    event.set()
    gevent.joinall(waiters, timeout=1)
    assert sorted(got) == [(0, True), (1, True), (2, True)]
    assert event.wait(0) is True  # set: no wait
    event.clear()
    assert not event.is_set()


def test_light_event_wait_times_out_and_a_late_set_is_harmless(c):
    event = c.light_event()
    start = gevent.get_hub().loop.now()
    assert event.wait(0.05) is False
    assert gevent.get_hub().loop.now() - start >= 0.04
    # The timer and set() together: the waiter sees the flag either way; nothing switches
    # into the greenlet once its wait is over.
    done = []

    loop = gevent.get_hub().loop

    def wait_then_sleep():
        done.append(event.wait(0.01))
        loop.update_now()
        before = loop.now()
        gevent.sleep(0.05)  # a stray switch would cut this short
        loop.update_now()
        done.append(loop.now() - before >= 0.045)

    waiter = gevent.spawn(wait_then_sleep)
    gevent.sleep(0.01)
    event.set()
    waiter.join(1)
    assert done[1] is True and done[0] in (True, False)
    assert not event._waiters


def test_run_in_thread_blocks_only_its_caller(c):
    # A real (unpatched) sleep stands for CPU work that releases the GIL (bcrypt): greenlets
    # go on meanwhile, and the caller gets the result, or the exception.
    from gevent import monkey

    real_sleep = monkey.get_original("time", "sleep")
    ticks = []

    def tick():
        while True:
            ticks.append(1)
            c.sleep(0.01)

    ticker = c.spawn(tick)

    def work(x):
        real_sleep(0.3)
        return x * 2

    assert c.run_in_thread(work, 21) == 42
    assert len(ticks) >= 10
    with pytest.raises(ZeroDivisionError):
        c.run_in_thread(lambda: 1 / 0)
    ticker.kill()
