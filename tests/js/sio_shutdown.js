// The server shuts down (SIGTERM or SIGINT) while the client is connected; another server comes
// up on the same port. The client, with reconnection on, sees "transport close" and reconnects
// to the new server.
//   node sio_shutdown.js <port> <mode>
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const out = c.seen;
  const s = c.client("/", { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300 });
  await c.once(s, "connect");
  out.firstId = s.id;
  out.firstEcho = (await c.call(s, "echo", "first"))[0];
  console.log("CONNECTED"); // the test shuts the server down from here
  out.reason = (await c.once(s, "disconnect"))[0];
  await c.once(s, "connect");
  out.secondId = s.id;
  out.secondEcho = (await c.call(s, "echo", "second"))[0];
  return out;
}, 40000);
