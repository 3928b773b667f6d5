// Connect with auth, refusals, events and acks both ways, the catch-all, an event named
// "error", a late ack, volatile emits, then a client disconnect.
//   node sio_basic.js <port> <mode>
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const out = c.seen;
  out.refusedBad = await c.refused("/", { auth: { token: "bad" } });
  out.refusedFalse = await c.refused("/", { auth: { token: "false" } });
  // conn.disconnect() in the connect handler: connected, then disconnected by the server.
  const kicked = c.client("/", { auth: { token: "kick" } });
  const seenByKicked = [];
  kicked.on("connect", () => seenByKicked.push("connect"));
  kicked.on("welcome", () => seenByKicked.push("welcome"));
  out.kickedInConnect = await new Promise((resolve) =>
    kicked.on("disconnect", (reason) => resolve([...seenByKicked, reason])),
  );

  const s = c.client("/", { auth: { token: "good", name: "basic" } });
  const events = c.record(s);
  const welcome = new Promise((resolve) =>
    s.on("welcome", (id) => resolve({ arg: id, connected: s.connected, sameId: id === s.id })),
  );
  const questions = [];
  s.on("question", (...args) => {
    const cb = args.pop();
    questions.push(args);
    cb("answer", ...args);
  });
  await c.once(s, "connect");
  out.id = s.id;
  out.firstTransport = c.transportName(s);
  out.welcome = await welcome;

  out.echo = await c.call(s, "echo", 1, "é ✓ \u2028", { a: [true, null, 2.5] }, null);
  out.echoNone = await c.call(s, "echo");
  out.star = await c.call(s, "no_such_handler", 2, "x");
  s.emit("no_ack_star", 3); // no ack asked: handled, nothing comes back
  out.error = await c.call(s, "error", "boom");
  out.later = await c.call(s, "later", 5, { k: "v" });
  out.ask = await c.call(s, "ask", 41, "q");
  out.askCb = await c.call(s, "ask_cb", 7);
  out.questions = questions;

  [out.volatile] = await c.call(s, "volatile", 50); // (not emitWithAck: 3.x has none)
  await c.waitUntil(() => events.some((e) => e[0] === "v_done"), "v_done");
  out.volatileReceived = events.filter((e) => e[0] === "v").map((e) => e[1]);
  [out.afterVolatile] = await c.call(s, "echo", "still here");

  if (c.mode === "default") await c.waitUpgrade(s);
  out.lastTransport = c.transportName(s);
  out.events = events.filter((e) => e[0] !== "v");

  const closed = new Promise((resolve) => s.on("disconnect", (reason) => resolve(reason)));
  s.disconnect();
  out.clientReason = await closed;
  return out;
});
