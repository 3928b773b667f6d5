// socket.io-client 2.5 (Engine.IO v3, Socket.IO protocol v4) against sio_app --allow-eio3:
// events, acks and binary both ways, a namespace with a query token, refusals seen as "error",
// a broadcast to a room of 2.x and 4.x clients, the heartbeat kept, then a client disconnect.
//   node sio_v2.js <port> <mode> [b64] [hold=<seconds>]
// <mode> as in sio_common.js; "b64": forceBase64; hold: stay connected that long, idle.
"use strict";

const c = require("./sio_common");
const ioV2 = require("socket.io-client-v2");
const { io: ioV4 } = require("socket.io-client");

const forceBase64 = c.extra.includes("b64");
const holdArg = c.extra.find((a) => a.startsWith("hold="));
const holdMs = holdArg ? Number(holdArg.slice(5)) * 1000 : 0;
const mine = [];

function v2(nsp, opts = {}) {
  const socket = ioV2(c.url + nsp, { ...c.base, forceBase64, ...opts });
  mine.push(socket);
  return socket;
}

// The first "error" (a refusal) or "connect" of a socket.
function outcome(socket) {
  return new Promise((resolve) => {
    socket.once("connect", () => resolve({ connect: socket.id }));
    socket.once("error", (data) => resolve({ error: c.pic(data) }));
  });
}

c.run(async () => {
  const out = c.seen;
  const s = v2("/");
  const welcome = c.once(s, "welcome");
  const disconnects = [];
  s.on("disconnect", (reason) => disconnects.push(reason));
  await c.once(s, "connect");
  out.idIsEngineId = s.id === s.io.engine.id;
  out.firstTransport = s.io.engine.transport.name;
  out.welcomeIsId = (await welcome)[0] === s.id;
  out.protocol = await c.call(s, "protocol");
  out.serverIdIsId = out.protocol[0].id === s.id;

  out.echo = await c.call(s, "echo", 1, "é € 😀 \u2028", { a: [true, null, 2.5] }, null);
  out.binEcho = await c.call(s, "echo", Buffer.from([0, 1, 255]), { n: [Buffer.from("hi")] });
  out.describe = await c.call(s, "describe", Buffer.from([1, 2, 3]), { x: Buffer.from([9]) });
  s.on("question", (...args) => {
    const cb = args.pop();
    cb("answer", ...args, Buffer.from([8]));
  });
  out.ask = await c.call(s, "ask", 41, Buffer.from([7]));

  const admin = v2("/admin?role=admin&token=t%20x");
  out.admin = await outcome(admin);
  out.adminIdRule = admin.id === `/admin#${admin.io.engine.id}`;
  out.adminProtocol = await c.call(admin, "protocol");
  out.adminWhoami = await c.call(admin, "whoami");
  // A blocking handler's namespace (for msg in conn: msg.reply).
  const chat = v2("/chat");
  const hello = c.once(chat, "hello");
  out.chat = await outcome(chat);
  out.chatHello = await hello;
  out.chatEcho = await c.call(chat, "echo", "blocking", Buffer.from([6]));
  out.refused = await outcome(v2("/admin?role=guest"));
  out.refusedPlain = await outcome(v2("/admin?role=plain"));
  out.invalid = await outcome(v2("/nowhere"));

  // A broadcast to a room holding a 2.x and a 4.x client, binary included.
  const modern = ioV4(c.url, { ...c.base });
  await c.once(modern, "connect");
  const got = { v2: null, v4: null };
  s.on("mixed", (...args) => (got.v2 = args));
  modern.on("mixed", (...args) => (got.v4 = args));
  await c.call(s, "join", "mix");
  await c.call(modern, "join", "mix");
  out.sent = await c.call(s, "to_room", "mix", "mixed", "text", Buffer.from([1, 2]), { b: Buffer.from([3]) });
  await c.waitUntil(() => got.v2 && got.v4, "the broadcast to both clients");
  out.mixed = got;
  modern.close();

  if (holdMs) {
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    out.afterHold = { connected: s.connected, disconnects: [...disconnects] };
    out.echoAfterHold = await c.call(s, "echo", "still here");
  }
  if (c.mode === "default") await c.waitUpgrade(s);
  out.lastTransport = s.io.engine.transport.name;
  out.lastBinEcho = await c.call(s, "echo", Buffer.from([4, 5]));
  out.id = s.id;
  for (const socket of mine) socket.close();
  return out;
});
