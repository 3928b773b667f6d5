// Drives tests/servers/admin_app.py --hash <bcrypt of "s3cret">: logins to /admin refused
// and accepted, the session id handed back and accepted on its own, and a "/" client served
// while a bcrypt check runs (it runs in an OS thread, not in the event loop).
"use strict";

const { run, client, connect, refused, record, call, waitUntil, once } = require("./sio_common");

// An admin socket recording what it gets from the start; resolves once connected.
function login(auth) {
  const socket = client("/admin", { auth });
  const events = record(socket);
  return { events, connected: once(socket, "connect").then(() => socket) };
}

run(async () => {
  const noAuth = await refused("/admin");
  const wrongPassword = await refused("/admin", { auth: { username: "admin", password: "nope" } });
  const wrongUser = await refused("/admin", { auth: { username: "root", password: "s3cret" } });
  const badSession = await refused("/admin", { auth: { sessionId: "0123456789abcdef" } });
  const notStrings = await refused("/admin", { auth: { username: "admin", password: 5 } });

  // A login (a bcrypt check) while a client of "/" echoes: the echoes end first.
  const other = await connect("/");
  const order = [];
  const first = login({ username: "admin", password: "s3cret" });
  first.connected.then(() => order.push("login"));
  for (let i = 0; i < 5; i++) await call(other, "echo", i);
  order.push("echoes");
  await first.connected;
  await waitUntil(() => first.events.some((e) => e[0] === "config"), "config");
  const firstEvents = first.events.map((e) => e[0]);
  const sessionId = (first.events.find((e) => e[0] === "session") || [])[1];

  const again = login({ sessionId });
  await again.connected;
  await waitUntil(() => again.events.some((e) => e[0] === "config"), "config again");
  const againEvents = again.events.map((e) => e[0]);
  return { noAuth, wrongPassword, wrongUser, badSession, notStrings, order, sessionId,
    firstEvents, againEvents };
}, 30000);
