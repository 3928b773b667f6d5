// Connection state recovery, as a socket.io-client 4.x user sees it: the server streams n
// direct events ("d") and n events to a room ("r"); the client cuts its transport
// (socket.io.engine.close()) after the messages numbered in <cuts> and reconnects.
//   node sio_recovery.js <port> <mode> <n> <gap_ms> <cuts, comma-separated> [<reconnect delay ms>]
// Prints what arrived (in order), the ids and `recovered` of each connect, and the server's
// `whoami` at the end.
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const [n, gap] = [parseInt(c.extra[0], 10), parseInt(c.extra[1], 10)];
  const cuts = (c.extra[2] || "").split(",").filter(Boolean).map(Number);
  const delay = parseInt(c.extra[3] || "50", 10);
  const out = c.seen;
  out.connects = [];
  out.d = [];
  out.r = [];
  out.extraArgs = [];
  const s = c.client("/", {
    reconnection: true,
    reconnectionDelay: delay,
    reconnectionDelayMax: delay,
    randomizationFactor: 0,
  });
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  // One cut per transport: a cut that falls while the last one's transport is still open (a
  // replay, or a polling payload, may carry two cut points) waits for the next transport.
  let cutting = false;
  let deferred = 0;
  const cut = () => {
    if (cutting) {
      deferred += 1;
      return;
    }
    cutting = true;
    setTimeout(() => s.io.engine.close(), 0);
  };
  s.on("connect", () => {
    out.connects.push({ id: s.id, recovered: Boolean(s.recovered) });
    cutting = false;
    if (deferred > 0) {
      deferred -= 1;
      cut();
    }
    // Not recovered: what was lost is lost; stop once the stream would have ended.
    if (out.connects.length > 1 && !s.recovered) setTimeout(done, n * gap + 300);
  });
  await c.once(s, "connect");
  out.rooms = (await c.call(s, "join", "r"))[0].length;
  let received = 0;
  const got = (kind) => (i, ...rest) => {
    out[kind].push(i);
    // socket.io-client hands the offset to the handler as a last extra argument (as with Node).
    if (rest.length !== 1 || typeof rest[0] !== "string") out.extraArgs.push([kind, i, rest]);
    received += 1;
    // Cut as the network would, from the event loop: socket.io-client hands decoded packets to
    // the handlers on the next tick, so a close from inside a handler would strand the packets
    // of the same read, which it then delivers after reconnecting, beside their replay (with
    // Node's server as with gsio's).
    if (cuts.includes(received)) cut();
    if (out.d.length >= n && out.r.length >= n) done();
  };
  s.on("d", got("d"));
  s.on("r", got("r"));
  await c.call(s, "stream", n, "r", gap);
  await finished;
  await new Promise((r) => setTimeout(r, Math.max(200, gap * 5))); // anything sent twice would arrive by now
  if (!s.connected) await c.once(s, "connect");
  out.whoami = (await c.call(s, "whoami"))[0];
  return out;
});
