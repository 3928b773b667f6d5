// A short tour for every server kind: connect with auth, a refusal, echo with binary, and a
// broadcast to a room.
//   node sio_smoke.js <port> <mode> <tag>
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const room = `smoke-${c.extra[0]}`;
  const out = c.seen;
  out.refused = await c.refused("/", { auth: { token: "bad" } });
  const s = c.client("/", { auth: { name: "smoke" } });
  const welcome = new Promise((resolve) => s.once("welcome", (id) => resolve(id === s.id)));
  await c.once(s, "connect");
  out.welcome = await welcome;
  const sent = ["é", Buffer.from([0, 255]), { nested: [Buffer.from("abc"), 1] }];
  const echoed = await c.call(s, "echo", ...sent);
  out.echoIdentical = c.deepEqual(echoed, sent);
  out.echo = echoed;
  let senderGotNews = false;
  s.on("news", () => (senderGotNews = true)); // s is not in the room
  const others = await Promise.all([c.connect("/"), c.connect("/")]);
  const got = others.map(() => []);
  others.forEach((o, i) => o.on("news", (text) => got[i].push(text)));
  await Promise.all(others.map((o) => c.call(o, "join", room)));
  await c.call(s, "to_room", room, "news", "one");
  await c.call(s, "to_room", room, "news", "two");
  await c.waitUntil(() => got.every((g) => g.length >= 2), "news");
  out.got = got;
  out.senderGotNews = senderGotNews; // anything for s came before the acks
  return out;
});
