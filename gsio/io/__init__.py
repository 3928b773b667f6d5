"""Where gsio meets gevent, threads and sockets: the one layer that knows their internals.

- :mod:`~gsio.io.concurrency`: spawn, queues, events, locks and timers, gevent's or threading's
  (:mod:`~gsio.io.green`: the green queue and event);
- :mod:`~gsio.io.handler`: gsio's pywsgi request handler (the header timeout, WebSocket
  take-over), with :mod:`~gsio.io.shortpath` (the long-polling short path),
  :mod:`~gsio.io.checked` (what every pywsgi handler gsio picks refuses) and
  :mod:`~gsio.io.geventpriv` (gevent's private names it relies on, pinned and tested);
- :mod:`~gsio.io.pollnative`: long-polling connections served by the event loop;
- :mod:`~gsio.io.websocket`: the WebSocket contract that every backend implements;
- :mod:`~gsio.io.wsnative` (reading) and :mod:`~gsio.io.wsnative_writer` (writing): gsio's own
  WebSocket connection on the event loop;
- :mod:`~gsio.io.wsgevent`, :mod:`~gsio.io.wssimple`: the gevent-websocket and
  simple-websocket backends, writing through :mod:`~gsio.io.wswriter`;
- :mod:`~gsio.io.connwatch`: watching a request's connection from a greenlet or thread;
- :mod:`~gsio.io.sockets`: finding and tuning the socket under a WSGI request.
"""
