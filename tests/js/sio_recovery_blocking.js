// Connection state recovery with a blocking handler (tests/servers/recovery_app.py's
// /blocking): the client sends <pings> "ping" events, cutting its transport after those
// numbered in <cuts>; the handler counts them through the cuts and answers each with
// count(n), and emits tick(i) whenever it is idle for 20 ms, until <ticks> ticks.
//   node sio_recovery_blocking.js <port> <mode> <pings> <cuts, comma-separated> <ticks>
"use strict";

const c = require("./sio_common");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

c.run(async () => {
  const pings = parseInt(c.extra[0], 10);
  const cuts = (c.extra[1] || "").split(",").filter(Boolean).map(Number);
  const ticks = parseInt(c.extra[2], 10);
  const out = c.seen;
  out.connects = [];
  out.count = [];
  out.tick = [];
  const s = c.client("/blocking", {
    reconnection: true,
    reconnectionDelay: 50,
    reconnectionDelayMax: 50,
    randomizationFactor: 0,
  });
  s.on("connect", () => out.connects.push({ id: s.id, recovered: Boolean(s.recovered) }));
  s.on("count", (n) => out.count.push(n));
  s.on("tick", (i) => out.tick.push(i));
  await c.once(s, "connect");
  for (let i = 1; i <= pings; i++) {
    s.emit("ping"); // buffered by the client while it is disconnected, sent once it is back
    if (cuts.includes(i)) setTimeout(() => s.io.engine.close(), 0);
    await sleep(15);
  }
  await c.waitUntil(() => out.count.length >= pings && out.tick.length >= ticks, "every message");
  await sleep(100); // anything sent twice would arrive by now
  out.total = (await c.call(s, "total"))[0];
  return out;
}, 35000);
