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


def test_queue_items_put_in_one_turn_reach_every_getter_in_order(c):
    # The getters woken in one turn of the loop are resumed in one batch, each handing the loop
    # to the next: every one gets its own items, in order, whatever the turns bring.
    queues = [c.queue() for _ in range(50)]
    got: list[list[int]] = [[] for _ in queues]

    def consume(q, out):
        while len(out) < 30:
            out.append(q.get())
            if len(out) % 7 == 0:
                gevent.sleep(0)  # (parked elsewhere for a while: the rest waits in its queue)

    getters = [gevent.spawn(consume, q, out) for q, out in zip(queues, got)]
    gevent.sleep(0.01)
    loop = gevent.get_hub().loop
    for turn in range(10):
        loop.run_callback(
            lambda turn=turn: [q.put(i) for i in range(turn * 3, turn * 3 + 3) for q in queues]
        )
        if turn % 3 == 0:
            gevent.sleep(0)
    gevent.joinall(getters, timeout=5)
    assert got == [list(range(30))] * 50


def test_a_getter_thrown_out_of_get_is_not_resumed_by_its_due_batch(c):
    # Its resume was due (an item came) when an exception took it out of get(): the batch must
    # not switch into it later, wherever it waits then.
    q = c.queue()
    napped = []

    def getter():
        try:
            q.get()
        except KeyError:
            pass
        started = gevent.get_hub().loop.now()
        gevent.sleep(0.1)
        napped.append(gevent.get_hub().loop.now() - started)

    g = gevent.spawn(getter)
    gevent.sleep(0.01)

    def put_then_throw():
        q.put("x")  # its resume is now due in the next batch
        g.throw(KeyError)  # (from the loop, as gevent.kill does)

    gevent.get_hub().loop.run_callback(put_then_throw)
    g.join(5)
    assert napped and napped[0] >= 0.09
    assert q.get(timeout=0) == "x"  # the item was kept


@pytest.mark.parametrize("put_first", [True, False])
def test_queue_get_timeout_racing_a_put_loses_nothing(c, put_first):
    # The timeout and the item come in the same turn of the loop: get() returns the item, or
    # raises Empty and the item waits for the next get(); the getter is not woken again later.
    q = c.queue()
    loop = gevent.get_hub().loop
    outcome = []

    def getter():
        put_timer = loop.timer(0.05)
        if put_first:
            put_timer.start(q.put, "x")
        try:
            if not put_first:
                put_timer.start(q.put, "x")
            outcome.append(q.get(timeout=0.05))
        except queue.Empty:
            outcome.append("empty")
        started = loop.now()
        gevent.sleep(0.1)
        outcome.append(loop.now() - started >= 0.09)
        put_timer.close()

    gevent.spawn(getter).join(5)
    assert outcome[1] is True
    if outcome[0] == "empty":
        assert q.get(timeout=0) == "x"
    else:
        assert outcome[0] == "x"
        assert q.qsize() == 0


def test_a_second_getter_waits_while_one_is_parked_and_each_gets_an_item(c):
    q = c.queue()
    got = []
    first = gevent.spawn(lambda: got.append(("first", q.get())))
    gevent.sleep(0.01)
    second = gevent.spawn(lambda: got.append(("second", q.get(timeout=5))))
    gevent.sleep(0.01)
    q.put(1)
    q.put(2)
    gevent.joinall([first, second], timeout=5)
    assert sorted(got) == [("first", 1), ("second", 2)]


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
