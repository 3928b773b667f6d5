// Many socket.io-client sockets through a server restart (connection state recovery): <n>
// sockets connect to <port> (reconnection on), each joins room "all" and prints nothing until
// all have; then the script prints "READY" and collects the "r" events (their first argument, a
// sequence number) until each socket has <m> of them, or <deadline_ms> passes. Prints one JSON
// line: per socket, the ids it connected with, `recovered` at each connect, and what it got.
//   node sio_recovery_crowd.js <port> <mode> <n> <m> [<deadline_ms>]
"use strict";

const c = require("./sio_common");

const [n, m] = [parseInt(c.extra[0], 10), parseInt(c.extra[1], 10)];
const deadline = parseInt(c.extra[2] || "60000", 10);

c.run(async () => {
  const all = [];
  c.seen.sockets = [];
  for (let i = 0; i < n; i++) {
    const s = c.client("/", {
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 400,
    });
    const seen = { connects: [], got: [] };
    s.on("connect", () => seen.connects.push({ id: s.id, recovered: Boolean(s.recovered) }));
    s.on("r", (i) => seen.got.push(i));
    all.push({ s, seen });
    c.seen.sockets.push(seen);
  }
  await Promise.all(all.map(({ s }) => (s.connected ? null : c.once(s, "connect"))));
  await Promise.all(all.map(({ s }) => c.call(s, "join", "all")));
  console.log("READY");
  await c.waitUntil(() => all.every(({ seen }) => seen.got.length >= m), "every message", deadline);
  await new Promise((resolve) => setTimeout(resolve, 300)); // anything sent twice arrives by now
  return { sockets: all.map(({ seen }) => seen) };
}, deadline + 20000);
