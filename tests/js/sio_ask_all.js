// Broadcast acks: sio.timeout(t).to(room).call("poll") from the server collects one answer per
// client; a client that never answers makes it time out with the answers that came.
//   node sio_ask_all.js <port> <mode> <tag>
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const room = `poll-${c.extra[0]}`;
  const out = c.seen;
  const clients = await Promise.all([0, 1, 2].map(() => c.connect("/")));
  // Client i answers with its index (client 0, which asks, answers too).
  clients.forEach((s, i) => s.on("poll", (r, cb) => cb({ i, room: r })));
  await Promise.all(clients.map((s) => c.call(s, "join", room)));
  out.all = (await c.call(clients[0], "ask_all", room, 5))[0];
  // Nobody in the room: done at once, with no answer (not a timeout).
  out.empty = (await c.call(clients[0], "ask_all", `empty-${c.extra[0]}`, 5))[0];

  // A fourth client joins but never answers.
  const mute = await c.connect("/");
  mute.on("poll", () => {});
  await c.call(mute, "join", room);
  out.partial = (await c.call(clients[1], "ask_all", room, 1))[0];
  out.stillConnected = [...clients, mute].every((s) => s.connected);
  return out;
});
