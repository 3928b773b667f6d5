// The server acting on the sockets of a room: fetch_sockets, sockets_join, sockets_leave,
// disconnect_sockets.
//   node sio_server_ops.js <port> <mode> <tag>
// Clients 0 and 1 join "a-<tag>", clients 2 and 3 join "b-<tag>".
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const tag = c.extra[0];
  const a = `a-${tag}`;
  const b = `b-${tag}`;
  const x = `x-${tag}`;
  const out = c.seen;
  const clients = await Promise.all([0, 1, 2, 3].map(() => c.connect("/")));
  const [s0, s1, s2, s3] = clients;
  out.ids = clients.map((s) => s.id);
  const reasons = clients.map(
    (s) => new Promise((resolve) => s.on("disconnect", (reason) => resolve(reason))),
  );
  const got = clients.map(() => []);
  clients.forEach((s, i) => s.on("m", (text) => got[i].push(text)));
  await Promise.all(clients.map((s, i) => c.call(s, "join", i < 2 ? a : b)));

  out.fetchA = (await c.call(s3, "fetch", a))[0];
  out.fetchB = (await c.call(s0, "fetch", b))[0];
  await c.call(s3, "sockets_join", a, x);
  out.fetchX = (await c.call(s3, "fetch", x))[0];
  out.rooms0 = (await c.call(s0, "join"))[0]; // no room: acks with the rooms s0 is in
  await c.call(s3, "to_room", x, "m", "to-x");
  await c.call(s3, "sockets_leave", a, x);
  out.fetchXAfterLeave = (await c.call(s3, "fetch", x))[0];
  await c.call(s3, "to_room", x, "m", "to-x-again"); // nobody is in x any more
  await c.call(s0, "disconnect_sockets", b);
  out.reasons23 = await Promise.all([reasons[2], reasons[3]]);
  out.fetchBAfter = (await c.call(s0, "fetch", b))[0];
  await c.call(s0, "to_room", a, "m", "end");
  await c.waitUntil(() => got[0].includes("end") && got[1].includes("end"), "end");
  out.got = got;
  out.connected = clients.map((s) => s.connected);
  return out;
});
