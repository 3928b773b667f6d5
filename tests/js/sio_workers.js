// Many socket.io-client sockets against several workers without sticky sessions: <n> per
// transport setup (polling only, WebSocket only, the default upgrade), reconnection on so that
// a refused session would show as a reconnect. Each connects, makes <echoes> acked echoes; one
// of them then shouts, and every socket must get the news (a broadcast from another worker's
// client); then all disconnect.
//   node sio_workers.js <port> default <n> <echoes>   (the mode argument is not used)
// Prints: connects, connect_errors, reconnects, echoes answered, news received, the pids the
// sockets' "pid" answers named (how the sessions spread over the workers), disconnect reasons.
"use strict";

const c = require("./sio_common");

const [n, echoes] = [parseInt(c.extra[0], 10), parseInt(c.extra[1], 10)];

c.run(async () => {
  const out = c.seen;
  Object.assign(out, { connects: 0, connect_errors: 0, reconnects: 0, echoed: 0, news: 0 });
  out.pids = {};
  out.reasons = {};
  const sockets = [];
  for (const mode of ["polling", "websocket", "default"]) {
    const opts = mode === "polling" ? { transports: ["polling"] }
      : mode === "websocket" ? { transports: ["websocket"] } : { transports: ["polling", "websocket"] };
    for (let i = 0; i < n; i++) {
      const s = c.client("/", { ...opts, reconnection: true, reconnectionDelay: 100 });
      s.on("connect", () => (out.connects += 1));
      s.on("connect_error", () => (out.connect_errors += 1));
      s.io.on("reconnect_attempt", () => (out.reconnects += 1));
      s.on("news", () => (out.news += 1));
      s.on("disconnect", (reason) => (out.reasons[reason] = (out.reasons[reason] || 0) + 1));
      sockets.push(s);
    }
  }
  await c.waitUntil(() => out.connects >= sockets.length, "every connect", 30000);
  await Promise.all(
    sockets.map(async (s) => {
      for (let i = 0; i < echoes; i++) {
        const [a, b] = await c.call(s, "echo", i, "x");
        if (a === i && b === "x") out.echoed += 1;
      }
      const [pid] = await c.call(s, "pid");
      out.pids[pid] = (out.pids[pid] || 0) + 1;
    })
  );
  await c.call(sockets[0], "shout", "hello");
  await c.waitUntil(() => out.news >= sockets.length, "the news on every socket", 15000);
  out.transports = {};
  for (const s of sockets) {
    const name = s.io.engine.transport.name;
    out.transports[name] = (out.transports[name] || 0) + 1;
  }
  return out;
}, 90000);
