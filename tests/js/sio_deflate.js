// Per-message deflate with the real client (ws negotiates it when the server offers it):
// events both ways, the bytes on the wire counted on the client's TCP socket.
//   node sio_deflate.js <port> <mode> [perMessageDeflate as JSON: the client's option]
"use strict";

const c = require("./sio_common");

// The client's TCP socket under its WebSocket (ws keeps it as _socket).
function tcp(s) {
  const ws = s.io.engine.transport.ws;
  return ws && ws._socket;
}

// What reading one event costs on the wire: [payload received, bytes read meanwhile].
async function measure(s, event, ask, ...args) {
  const before = tcp(s).bytesRead;
  const got = c.once(s, event);
  await c.call(s, ask, ...args);
  const [payload] = await got;
  return [payload.length, tcp(s).bytesRead - before];
}

c.run(async () => {
  const out = c.seen;
  const opts = c.extra[0] ? { perMessageDeflate: JSON.parse(c.extra[0]) } : {};
  const s = await c.connect("/", opts);
  await c.waitUpgrade(s);
  out.transport = c.transportName(s);
  out.extensions = s.io.engine.transport.ws.extensions || "";
  // Client to server: the ack says what the server received; bytesWritten what it cost.
  const text = "é".repeat(50000);
  let before = tcp(s).bytesWritten;
  out.sizeText = await c.call(s, "size", text);
  out.wroteText = tcp(s).bytesWritten - before;
  const binary = Buffer.alloc(100000, 7);
  before = tcp(s).bytesWritten;
  out.sizeBinary = await c.call(s, "size", binary);
  out.wroteBinary = tcp(s).bytesWritten - before;
  out.echo = await c.call(s, "echo", "small", 1, [true]);
  // Server to client.
  out.big = await measure(s, "big", "big", 100000);
  out.bigPlain = await measure(s, "big", "big", 100000, true);
  out.small = await measure(s, "big", "big", 500);
  out.bin = await measure(s, "bin", "binary", 100000);
  out.bcast = await measure(s, "big", "bcast", 100000);
  out.bcastPlain = await measure(s, "big", "bcast", 100000, true);
  return out;
});
