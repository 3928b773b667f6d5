// Real socket.io-client sockets driven from a test, one JSON command per stdin line; one JSON
// answer per command on stdout: {"id": <the command's id>, "ok": <value>} or {"id", "error"}.
//
//   {"op": "connect", "name": "a", "url": "http://127.0.0.1:PORT/chat", "transport": "websocket",
//    "auth": {...}, "answer": {"poll": <value>}}     -> the socket id once connected
//   {"op": "call", "name", "event", "args": [...]}    -> the ack's arguments (a list)
//   {"op": "emit", "name", "event", "args": [...]}    -> null
//   {"op": "events", "name"}                          -> the events received since the last
//        "events" as [event, ...args], binaries as {"bin": hex}; a disconnect shows as
//        ["__disconnect", reason], a reconnect as ["__connect", id]
//   {"op": "close", "name"}                           -> null
//   {"op": "repeat", "name", "event", "args": [...], "interval": ms} -> null; emits the event
//        every interval ms, a counter from 0 after the args (and an ack callback that ignores
//        the answer), until "stop_repeat"
//   {"op": "stop_repeat", "name"}                     -> how many were emitted
//   {"op": "close_all"}                               -> null; closes and forgets every socket
//   {"op": "move", "name", "url"}                     -> null; cuts the transport (as the network
//        would, from the event loop) and lets the socket reconnect to the server at "url"
//        (recovery: the reconnect shows as ["__connect", id, recovered]); "pid" and "offset",
//        if given, replace the session the socket asks back
// "delay" (ms) sets the reconnection delay (100 by default).
// transport: "websocket", "polling" or "default" (polling then the upgrade). "answer" makes the
// socket ack an event with a fixed value; "silent": [event, ...] never acks those events (for
// the ack timeout paths). "reconnect": true turns reconnection on.
"use strict";

const http = require("http");
const readline = require("readline");
const { io } = require("socket.io-client");

const sockets = new Map();
const received = new Map();
const repeats = new Map();

function pic(value) {
  if (Buffer.isBuffer(value)) return { bin: value.toString("hex") };
  if (value instanceof ArrayBuffer) return { bin: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(pic);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = pic(v);
    return out;
  }
  return value === undefined ? null : value;
}

// Arguments from the test: {"$bin": hex} is a Buffer.
function unpic(value) {
  if (Array.isArray(value)) return value.map(unpic);
  if (value && typeof value === "object") {
    if (typeof value.$bin === "string") return Buffer.from(value.$bin, "hex");
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = unpic(v);
    return out;
  }
  return value;
}

function transports(mode) {
  if (mode === "websocket") return { transports: ["websocket"] };
  if (mode === "polling") return { transports: ["polling"] };
  return {};
}

const ops = {
  connect(cmd) {
    const socket = io(cmd.url, {
      ...transports(cmd.transport || "websocket"),
      forceNew: true,
      reconnection: !!cmd.reconnect,
      reconnectionDelay: cmd.delay || 100,
      reconnectionDelayMax: Math.max(cmd.delay || 0, 500),
      auth: cmd.auth || {},
      timeout: 5000,
      // "parser": the package of the client's parser (socket.io-msgpack-parser).
      ...(cmd.parser ? { parser: require(cmd.parser) } : {}),
      // "localAddress": connect from this loopback address (polling), for a balancer that
      // hashes the client's address.
      ...(cmd.localAddress ? { agent: new http.Agent({ localAddress: cmd.localAddress }) } : {}),
    });
    sockets.set(cmd.name, socket);
    const log = [];
    received.set(cmd.name, log);
    socket.onAny((event, ...args) => {
      const last = args[args.length - 1];
      if (typeof last === "function") {
        args.pop();
        const answers = cmd.answer || {};
        if (!(cmd.silent || []).includes(event)) {
          last(event in answers ? unpic(answers[event]) : `${cmd.name}:${event}`);
        }
      }
      log.push([event, ...pic(args)]);
    });
    socket.on("disconnect", (reason) => log.push(["__disconnect", reason]));
    return new Promise((resolve, reject) => {
      let first = true;
      socket.on("connect", () => {
        if (first) {
          first = false;
          resolve(socket.id);
        } else {
          log.push(["__connect", socket.id, Boolean(socket.recovered)]);
        }
      });
      socket.on("connect_error", (err) => {
        if (first && !cmd.reconnect) reject(new Error(`connect_error: ${err.message}`));
      });
    });
  },
  call(cmd) {
    const socket = sockets.get(cmd.name);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ack for ${cmd.event}`)), cmd.timeout || 10000);
      socket.emit(cmd.event, ...unpic(cmd.args || []), (...answer) => {
        clearTimeout(timer);
        resolve(pic(answer));
      });
    });
  },
  emit(cmd) {
    sockets.get(cmd.name).emit(cmd.event, ...unpic(cmd.args || []));
    return null;
  },
  events(cmd) {
    const log = received.get(cmd.name) || [];
    return log.splice(0, log.length);
  },
  close(cmd) {
    const socket = sockets.get(cmd.name);
    if (socket) socket.close();
    return null;
  },
  repeat(cmd) {
    const socket = sockets.get(cmd.name);
    const state = { count: 0 };
    state.timer = setInterval(() => {
      socket.emit(cmd.event, ...unpic(cmd.args || []), state.count++, () => {});
    }, cmd.interval || 20);
    repeats.set(cmd.name, state);
    return null;
  },
  stop_repeat(cmd) {
    const state = repeats.get(cmd.name);
    if (!state) return 0;
    clearInterval(state.timer);
    repeats.delete(cmd.name);
    return state.count;
  },
  move(cmd) {
    const socket = sockets.get(cmd.name);
    socket.io.uri = cmd.url;
    // A tampered session: what a reconnecting socket.io-client sends in its CONNECT.
    if (cmd.pid !== undefined) socket._pid = cmd.pid;
    if (cmd.offset !== undefined) socket._lastOffset = cmd.offset;
    setTimeout(() => socket.io.engine.close(), 0);
    return null;
  },
  close_all() {
    for (const state of repeats.values()) clearInterval(state.timer);
    repeats.clear();
    for (const socket of sockets.values()) socket.close();
    sockets.clear();
    received.clear();
    return null;
  },
};

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
    const value = await ops[cmd.op](cmd);
    process.stdout.write(JSON.stringify({ id: cmd.id, ok: value === undefined ? null : value }) + "\n");
  } catch (err) {
    process.stdout.write(JSON.stringify({ id: cmd && cmd.id, error: String(err.message || err) }) + "\n");
  }
});
rl.on("close", () => {
  for (const socket of sockets.values()) socket.close();
  setTimeout(() => process.exit(0), 200).unref();
});
