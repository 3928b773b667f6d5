"""Where gsio meets gevent, threads and sockets: the one layer that knows their internals.

- :mod:`~gsio.io.concurrency`: spawn, queues, events, locks and timers, gevent's or threading's;
- :mod:`~gsio.io.handler`: gsio's pywsgi request handler (the header timeout, WebSocket
  take-over, the long-polling short path);
- :mod:`~gsio.io.pollnative`: long-polling connections served by the event loop;
- :mod:`~gsio.io.wsnative`: gsio's own WebSocket connection on the event loop;
- :mod:`~gsio.io.connwatch`: watching a request's connection from a greenlet or thread.
"""
