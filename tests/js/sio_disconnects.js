// Server-side disconnects.
//   node sio_disconnects.js <port> <mode> <n>
// - "kick": conn.disconnect(): the client sees "io server disconnect";
// - "kick_close": conn.disconnect(close=True) with "/" and a dynamic namespace on one Manager:
//   every namespace of the connection is disconnected ("io server disconnect"), no reconnection.
"use strict";

const c = require("./sio_common");

function reasonOf(socket) {
  return new Promise((resolve) => socket.on("disconnect", (reason) => resolve(reason)));
}

c.run(async () => {
  const out = c.seen;
  const s = await c.connect("/", { auth: { name: "kicked" } });
  out.kickedId = s.id;
  const kicked = reasonOf(s);
  s.emit("kick");
  out.kickReason = await kicked;

  const m = c.manager({ reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
  const root = m.socket("/", { auth: { name: "kick_close" } });
  const dyn = m.socket(`/dyn-${c.extra[0]}`);
  await Promise.all([c.once(root, "connect"), c.once(dyn, "connect")]);
  if (c.mode === "default") await c.waitUpgrade(root); // polling itself is the "polling" run
  out.closeIds = [root.id, dyn.id];
  const reasons = Promise.all([reasonOf(root), reasonOf(dyn)]);
  root.emit("kick_close");
  out.kickCloseReasons = await reasons;
  out.active = [root.active, dyn.active];
  return out;
});
