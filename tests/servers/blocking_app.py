"""A blocking-API server for tests/server/test_blocking_api.py.

The default namespace is served by one blocking handler per connection. It answers events:

- ``threads`` (n): a real OS thread (under gevent: gevent's original thread, not a greenlet)
  emits ``tick`` 0..n-1 to this connection, then ``ticks_done``;
- ``wait`` (seconds): ``conn.receive(timeout=seconds)``; replies "timeout" if nothing came, else
  the event name that came;
- ``call_unanswered``: ``conn.call("never", timeout=0.5)``; replies the exception's class name;
- ``call_while_busy``: ``conn.call("question", 20)`` while the client keeps emitting ``noise``;
  replies ``[answer, noise events received afterwards by receive()]``;
- ``bye``: returns, which disconnects the client;
- ``echo`` (args): replies them;
- ``nap`` (seconds): sleeps (gevent's sleep under gevent), then replies
  ``[whether it slept that long, the args of the burst events that came meanwhile]``, taking
  them with receive() until ``burst_done``;
- ``nap_quietly`` (seconds): sleeps, then goes on with the loop (no reply);
- ``note`` (n): logs ``["note", n]``.

Once the ``for msg in conn`` loop ends, ``["loop-ended", reason]`` is logged.

GET /log answers the JSON list of what the server saw (disconnect reasons included).
"""

import common

kind = common.patch_for_kind()

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402 (gevent's sleep under the gevent kinds: patched)

import gsio  # noqa: E402

parser = argparse.ArgumentParser()
common.add_common_arguments(parser)
options = parser.parse_args()
common.setup_logging()

sio = gsio.Server()
events = []


def start_os_thread(fn, *args):
    if kind == "werkzeug":
        import threading

        threading.Thread(target=fn, args=args, daemon=True).start()
    else:
        from gevent import monkey

        monkey.get_original("_thread", "start_new_thread")(fn, args)


@sio.handler
def blocking(conn):
    try:
        for msg in conn:
            if msg.event == "threads":

                def emit_ticks(n):
                    for i in range(n):
                        conn.emit("tick", i)
                    conn.emit("ticks_done", n)

                start_os_thread(emit_ticks, msg.args[0])
                msg.reply("started")
            elif msg.event == "wait":
                try:
                    got = conn.receive(timeout=msg.args[0])
                    got.reply("seen")
                    msg.reply(got.event)
                except TimeoutError:
                    msg.reply("timeout")
            elif msg.event == "call_unanswered":
                try:
                    conn.call("never", timeout=0.5)
                    msg.reply("answered?")
                except gsio.AckTimeout as exc:
                    msg.reply(type(exc).__name__)
            elif msg.event == "call_while_busy":
                answer = conn.call("question", 20, timeout=10)
                noise = []
                while True:
                    got = conn.receive(timeout=2)
                    if got.event == "noise_done":
                        break
                    noise.append(got.args[0])
                msg.reply([answer, noise])
            elif msg.event == "bye":
                msg.reply("bye")
                return
            elif msg.event == "echo":
                msg.reply(*msg.args)
            elif msg.event == "nap":
                started = time.monotonic()
                time.sleep(msg.args[0])
                slept = time.monotonic() - started
                burst = []
                while True:
                    got = conn.receive(timeout=5)
                    if got.event == "burst_done":
                        break
                    burst.append(got.args[0])
                # (a timer may fire a little early by the loop's clock: half a tick of slack)
                msg.reply([slept >= msg.args[0] - 0.02, burst])
            elif msg.event == "nap_quietly":
                time.sleep(msg.args[0])
            elif msg.event == "note":
                events.append(["note", msg.args[0]])
        events.append(["loop-ended", conn.closed_reason])
    except gsio.ConnectionClosed as exc:
        events.append(["closed-in-handler", exc.reason])
        raise


@sio.on("disconnect")
def disconnect(conn, reason):
    events.append(["disconnect", reason])


def log_app(environ, start_response):
    body = json.dumps(events).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


common.serve_app(gsio.WSGIApp(sio, log_app), options.kind, options.port)
