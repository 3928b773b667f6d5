// The server closes the Engine.IO connection (not the namespace): the client, with reconnection
// on, reconnects and connects again with a new socket id.
//   node sio_reconnect.js <port> <mode>
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const out = c.seen;
  const s = c.client("/", {
    reconnection: true,
    reconnectionDelay: 50,
    reconnectionDelayMax: 100,
    auth: { name: "reconnect" },
  });
  await c.once(s, "connect");
  out.firstId = s.id;
  const closed = new Promise((resolve) => s.once("disconnect", (reason) => resolve(reason)));
  const reconnected = c.once(s.io, "reconnect");
  s.emit("close_transport");
  out.reason = await closed;
  out.attempt = (await reconnected)[0];
  if (!s.connected) await c.once(s, "connect");
  out.secondId = s.id;
  out.echo = (await c.call(s, "echo", "again"))[0];
  return out;
});
