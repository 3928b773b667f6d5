"""The pure protocol core: bytes in, events and state out; no I/O, no clock, no threads.

- :mod:`~gsio.protocol.engineio`: Engine.IO v4 packets and polling payloads;
- :mod:`~gsio.protocol.engineio_v3` and :mod:`~gsio.protocol.jsonp`: Engine.IO v3's framing of
  polling payloads and WebSocket messages, and its JSONP polling;
- :mod:`~gsio.protocol.session`: the Engine.IO session's state machine and heartbeat deadlines;
- :mod:`~gsio.protocol.socketio`: Socket.IO v5: the codec interface (``PacketCodec``) and the JSON
  codec, over :mod:`~gsio.protocol.socketio_packet` (packets, encoding, binary attachments) and
  :mod:`~gsio.protocol.socketio_decoder` (one connection's decoder); and
  :mod:`~gsio.protocol.socketio_v4`, what differs for protocol v4 (socket.io-client 2.x);
- :mod:`~gsio.protocol.frames`: WebSocket frames (RFC 6455) and the handshake's check;
- :mod:`~gsio.protocol.http`: HTTP responses, the Engine.IO JSON errors, CORS, compression.

Nothing here imports anything of gsio's outside this package but :mod:`gsio.exceptions`
(``tests/protocol/test_purity.py`` checks it).
"""
