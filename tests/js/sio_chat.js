// The blocking /chat handler: for msg in conn: msg.reply, conn.emit, conn.to(room).emit;
// "bye" returns from the handler, which disconnects the client.
//   node sio_chat.js <port> <mode> <tag>
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const room = `chat-${c.extra[0]}`;
  const out = c.seen;
  const a = c.client("/chat");
  const b = c.client("/chat");
  const hello = (s) => new Promise((resolve) => s.once("hello", (id) => resolve(id === s.id)));
  const hellos = Promise.all([hello(a), hello(b)]);
  const saidTo = { a: [], b: [] };
  a.on("said", (text) => saidTo.a.push(text));
  b.on("said", (text) => saidTo.b.push(text));
  await Promise.all([c.once(a, "connect"), c.once(b, "connect")]);
  out.ids = [a.id, b.id];
  out.hello = await hellos;
  out.joinA = (await c.call(a, "join", room))[0];
  out.joinB = (await c.call(b, "join", room))[0];
  out.sayA = await c.call(a, "say", room, "from a");
  out.sayB = await c.call(b, "say", room, "from b");
  await c.waitUntil(() => saidTo.a.length > 0, "a hears b");
  // b's message was sent after a's: had a been sent its own, it would be there by now.
  await c.waitUntil(() => saidTo.b.length > 0, "b hears a");
  out.saidTo = saidTo;
  out.echo = await c.call(a, "echo", "x", Buffer.from([1, 2]), { n: [Buffer.from("y")] });
  out.other = await c.call(a, "other", 1);
  const aClosed = new Promise((resolve) => a.on("disconnect", (reason) => resolve(reason)));
  out.bye = await c.call(a, "bye");
  out.aReason = await aClosed;
  const bClosed = new Promise((resolve) => b.on("disconnect", (reason) => resolve(reason)));
  b.disconnect();
  out.bReason = await bClosed;
  return out;
});
