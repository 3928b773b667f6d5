// Namespaces: an unknown one, middleware, dynamic ones, and several on one Manager.
//   node sio_namespaces.js <port> <mode> <n>   (<n>: digits making this run's /dyn-<n>x names)
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const n = c.extra[0];
  const dyn1 = `/dyn-${n}1`;
  const dyn2 = `/dyn-${n}2`;
  const out = c.seen;
  out.invalid = await c.refused("/nope");
  out.invalidDyn = await c.refused("/dyn-x");
  out.adminRefused = await c.refused("/admin", { auth: { role: "user" } });
  out.adminNoAuth = await c.refused("/admin");
  const admin = await c.connect("/admin", { auth: { role: "admin" } });
  out.whoami = (await c.call(admin, "whoami"))[0];

  // Dynamic namespaces: two clients in dyn1, one in dyn2.
  const [d1, d1b, d2] = await Promise.all([c.connect(dyn1), c.connect(dyn1), c.connect(dyn2)]);
  out.dynIds = [d1.id, d1b.id, d2.id];
  const got = { d1: c.record(d1), d1b: c.record(d1b), d2: c.record(d2) };
  out.where = [(await c.call(d1, "where"))[0], (await c.call(d2, "where"))[0]];
  await c.call(d1, "here", "nsp_msg", "to dyn1");
  const main = await c.connect("/");
  await c.call(main, "dyn_all", "dyn_msg", "to every dyn");
  await c.call(main, "of_emit", dyn2, "of_msg", "sio.of(dyn2)");
  await c.waitUntil(() => got.d2.some((e) => e[0] === "of_msg"), "of_msg on dyn2");
  await c.waitUntil(() => got.d1b.some((e) => e[0] === "dyn_msg"), "dyn_msg on dyn1");
  // A new client in dyn2, after sio.of(dyn2) was called: still served by the dynamic handlers.
  const d2b = await c.connect(dyn2);
  out.whereAfterOf = (await c.call(d2b, "where"))[0];
  out.got = got;

  // Two namespaces on one Manager (one Engine.IO connection): leaving one keeps the other.
  const m = c.manager();
  const root = m.socket("/", { auth: { name: "multiplexed" } });
  const adm = m.socket("/admin", { auth: { role: "admin" } });
  await Promise.all([c.once(root, "connect"), c.once(adm, "connect")]);
  out.sameEngine = root.io === adm.io;
  out.rootId = root.id;
  out.adminId = adm.id;
  const admClosed = new Promise((resolve) => adm.on("disconnect", (reason) => resolve(reason)));
  adm.disconnect();
  out.adminReason = await admClosed;
  out.rootEcho = (await c.call(root, "echo", "still here"))[0];
  out.rootConnected = root.connected;
  out.engineOpen = m.engine.readyState;
  out.fetchRoot = (await c.call(root, "fetch", root.id))[0];
  return out;
});
