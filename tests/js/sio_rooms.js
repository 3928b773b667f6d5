// Rooms and broadcasts to many clients: each client reports every "m" event it received.
//   node sio_rooms.js <port> <mode> <count> <tag>
// Client i joins "all-<tag>" and "even-<tag>" or "odd-<tag>". Then, in order:
//   client 0: to_room(even, "even")          -> the even clients
//   client 0: except_room(all, even, "odd")  -> the odd clients
//   client 1: from_conn(odd, "from1")        -> the odd clients but client 1 (conn.to)
//   client 0: to_all("all")                  -> everyone (also sockets of other tests: tagged)
//   client 0: to_rooms([even, odd], "union") -> everyone, once
//   client 2: leaves even; client 0: to_room(even, "even2") -> the even clients but client 2
//   client 0: to_room(all, "end")            -> everyone: the last message each one waits for
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const count = Number(c.extra[0]);
  const tag = c.extra[1];
  const all = `all-${tag}`;
  const even = `even-${tag}`;
  const odd = `odd-${tag}`;
  const out = c.seen;
  const clients = await Promise.all(
    Array.from({ length: count }, (_, i) => c.connect("/", { auth: { name: `room${i}` } })),
  );
  const got = clients.map(() => []);
  const ended = clients.map((s, i) => {
    return new Promise((resolve) =>
      s.on("m", (text, t) => {
        if (t !== tag) return; // a broadcast of another test
        got[i].push(text);
        if (text === "end") resolve();
      }),
    );
  });
  out.rooms = await Promise.all(
    clients.map((s, i) => c.call(s, "join", all, i % 2 ? odd : even).then((a) => a[0])),
  );
  const [s0, s1, s2] = clients;
  await c.call(s0, "to_room", even, "m", "even", tag);
  await c.call(s0, "except_room", all, even, "m", "odd", tag);
  await c.call(s1, "from_conn", odd, "m", "from1", tag);
  await c.call(s0, "to_all", "m", "all", tag);
  await c.call(s0, "to_rooms", [even, odd], "m", "union", tag);
  out.leave = (await c.call(s2, "leave", even))[0];
  await c.call(s0, "to_room", even, "m", "even2", tag);
  await c.call(s0, "to_room", all, "m", "end", tag);
  await Promise.all(ended);
  out.got = got;
  out.ids = clients.map((s) => s.id);
  return out;
});
