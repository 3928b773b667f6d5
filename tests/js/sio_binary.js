// Binary both ways: nested, several attachments, in events and acks, byte-identical.
//   node sio_binary.js <port> <mode>
"use strict";

const c = require("./sio_common");

function payload() {
  const big = Buffer.alloc(5000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 256;
  return [
    Buffer.from([0, 1, 2, 255]),
    { a: { b: [Buffer.alloc(0), Buffer.from("é", "utf8")] }, t: "text" },
    "plain",
    [[big]],
    { typed: new Uint8Array([1, 2, 3]), arrayBuffer: new Uint8Array([4, 5]).buffer },
  ];
}

c.run(async () => {
  const out = c.seen;
  const s = await c.connect("/", { auth: { name: "binary" } });
  const fromServer = new Promise((resolve) => s.on("bin_types", (data) => resolve(data)));

  // Client -> server -> client: the ack brings back what was sent.
  const sent = payload().slice(0, 4);
  const echoed = await c.call(s, "echo", ...sent);
  out.echoIdentical = c.deepEqual(echoed, sent);
  // What the server received, as the server describes it (types and hex).
  out.described = (await c.call(s, "describe", ...payload()))[0];
  // Server -> client: an event and an ack with every kind of Python binary.
  out.binTypesAck = (await c.call(s, "bin_types"))[0];
  out.binTypesEvent = await fromServer;
  // Server -> client -> server: conn.call() to the client, whose ack carries binary back.
  s.on("question", (...args) => args.pop()(Buffer.from("reply"), ...args));
  out.ask = (await c.call(s, "ask", Buffer.from([9, 8, 7]), { n: [Buffer.from("z")] }))[0];
  // Exactly max_attachments (10) in one packet is fine.
  const ten = Array.from({ length: 10 }, (_, i) => Buffer.from([i]));
  out.tenIdentical = c.deepEqual(await c.call(s, "echo", ...ten), ten);
  return out;
});
