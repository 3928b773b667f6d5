// Two people in the example chats (examples/flask_chat, examples/django_chat).
//   node deploy_chat.js <port> <mode> <options JSON: [options of A, options of B]>
// Each client connects with its options (auth, or extraHeaders with the session cookie) and
// gets "welcome"; A says something and both get "said"; A echoes binary; in the default mode
// both wait for the upgrade and A speaks again. Prints {welcome, said, echoIdentical,
// transports}.
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const out = c.seen;
  const options = JSON.parse(c.extra[0] || "[{}, {}]");
  const sockets = options.map((opts) => c.client("/", opts));
  const welcomes = sockets.map((s) => c.once(s, "welcome"));
  const said = sockets.map(() => []);
  sockets.forEach((s, i) => s.on("said", (m) => said[i].push(m)));
  await Promise.all(sockets.map((s) => c.once(s, "connect")));
  out.welcome = (await Promise.all(welcomes)).map((args) => args[0]);
  const [a] = sockets;
  out.ack = (await c.call(a, "say", "hello, é"))[0];
  await c.waitUntil(() => said.every((list) => list.length >= 1), "said");
  const sent = [Buffer.from([0, 1, 255]), { nested: Buffer.from("xyz") }];
  out.echoIdentical = c.deepEqual(await c.call(a, "echo", ...sent), sent);
  if (c.mode === "default") {
    await Promise.all(sockets.map((s) => c.waitUpgrade(s)));
    await c.call(a, "say", "upgraded");
    await c.waitUntil(() => said.every((list) => list.length >= 2), "said after the upgrade");
  }
  out.said = said;
  out.transports = sockets.map(c.transportName);
  return out;
});
