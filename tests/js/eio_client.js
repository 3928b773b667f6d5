// Drives the official engine.io-client against a test server and prints ONE JSON line: what
// the client saw, in order.
//
//   node eio_client.js '{"port": 5000, "send": ["hi", {"binary": "0102"}], "expect": 2}'
//
// Options (all but port optional):
//   port, path ("/socket.io/"), transports (["polling", "websocket"]), upgrade (true)
//   send: messages sent once open; a message is "text", {"text": "x", "repeat": n} or
//         {"binary": "hex", "repeat": n} (the text or bytes repeated n times)
//   sendOnUpgrade: messages sent right after the upgrade to WebSocket
//   expect: how many messages to receive before ending (default: as many as sent)
//   waitUpgrade: also wait for the upgrade before ending
//   waitPings: also wait for this many server pings before ending
//   probeAfter: hold the upgrade probe back until this many messages were received
//   stream: {"template": "burst:2:s{i}.", "replies": 2, "afterUpgrade": 20}: send one message
//           per timer tick from the open on, until afterUpgrade of them went after the upgrade;
//           each is expected to bring `replies` messages back
//   end: "close" (the client closes once done, the default) or "server" (wait for the server
//        to close the connection)
//   noPong: never answer the server's pings, and never time out on our own (a dead client)
//   timeout: ms before giving up (10000): the output then has "timedOut": true, exit code 2
"use strict";

const { Socket } = require("engine.io-client");

const opts = JSON.parse(process.argv[2] || "{}");
const events = [];
const out = { events, sid: null, handshake: null, pings: 0, streamSent: 0, timedOut: false };
let received = 0;
let upgraded = false;
let finished = false;

function message(spec) {
  if (typeof spec === "string") return spec;
  const n = spec.repeat || 1;
  if (spec.binary !== undefined) return Buffer.from(spec.binary.repeat(n), "hex");
  return spec.text.repeat(n);
}

function describe(data) {
  if (data === undefined) return { type: "text", data: "" }; // the parser's empty message
  if (typeof data === "string") return { type: "text", data };
  return { type: "binary", data: Buffer.from(data).toString("hex") };
}

const socket = new Socket(`http://127.0.0.1:${opts.port}`, {
  path: opts.path || "/socket.io/",
  transports: opts.transports || ["polling", "websocket"],
  upgrade: opts.upgrade !== false,
});

if (opts.noPong) {
  const sendPacket = socket._sendPacket.bind(socket);
  socket._sendPacket = (type, ...rest) => (type === "pong" ? undefined : sendPacket(type, ...rest));
  socket._resetPingTimeout = () => {};
}

const heldProbes = [];
if (opts.probeAfter) {
  const probe = socket._probe.bind(socket);
  socket._probe = (name) => heldProbes.push(() => probe(name));
}

const sendList = opts.send || [];
const stream = opts.stream;
const expectBase = opts.expect !== undefined ? opts.expect : sendList.length;
let streamAfterUpgrade = 0;
let streamDone = !stream;

function expected() {
  return expectBase + (stream ? stream.replies * out.streamSent : 0);
}

function check() {
  if (finished || !streamDone || received < expected()) return;
  if (opts.waitUpgrade && !upgraded) return;
  if (opts.waitPings && out.pings < opts.waitPings) return;
  if (opts.end === "server") return; // the close event ends it
  finish(() => socket.close());
}

// Done: close (the output is printed once the close event has been seen).
function finish(action) {
  if (finished) return;
  finished = true;
  action();
  if (socket.readyState === "closed") print();
}

let printed = false;
function print() {
  if (printed) return;
  printed = true;
  clearTimeout(timer);
  process.stdout.write(JSON.stringify(out) + "\n");
  if (out.timedOut) process.exit(2);
  // Let the client's last requests (a polling CLOSE, a WebSocket close handshake) go out,
  // then exit even if something still holds the event loop.
  setTimeout(() => process.exit(0), 3000).unref();
}

function streamTick() {
  if (socket.readyState !== "open") return;
  socket.send(stream.template.replace("{i}", String(out.streamSent)));
  out.streamSent++;
  if (upgraded) streamAfterUpgrade++;
  if (streamAfterUpgrade >= (stream.afterUpgrade || 0) && upgraded) {
    streamDone = true;
    check();
    return;
  }
  setTimeout(streamTick, 1);
}

socket.on("handshake", (data) => {
  out.sid = data.sid;
  out.handshake = data;
});
socket.on("open", () => {
  events.push({ event: "open", transport: socket.transport.name });
  for (const spec of sendList) socket.send(message(spec));
  if (stream) streamTick();
  check();
});
socket.on("ping", () => {
  out.pings++;
  check();
});
socket.on("upgrading", (transport) => events.push({ event: "upgrading", transport: transport.name }));
socket.on("upgrade", (transport) => {
  upgraded = true;
  events.push({ event: "upgrade", transport: transport.name });
  for (const spec of opts.sendOnUpgrade || []) socket.send(message(spec));
  check();
});
socket.on("upgradeError", (err) => events.push({ event: "upgradeError", message: err.message }));
socket.on("message", (data) => {
  received++;
  events.push({ event: "message", transport: socket.transport.name, ...describe(data) });
  if (heldProbes.length && received >= opts.probeAfter) heldProbes.splice(0).forEach((p) => p());
  check();
});
socket.on("error", (err) => events.push({ event: "error", message: String(err && err.message) }));
socket.on("close", (reason, description) => {
  // A closed WebSocket tells its close code; a failed polling request its HTTP status.
  const context = description && description.context;
  const code = context && typeof context.code === "number" ? context.code : undefined;
  const status = description && typeof description.description === "number" ? description.description : undefined;
  events.push({ event: "close", reason, code, status });
  finished = true;
  print();
});

const timer = setTimeout(() => {
  out.timedOut = true;
  print();
}, opts.timeout || 10000);
