// What the sio_*.js scenarios share. Each scenario runs as
//
//   node sio_<scenario>.js <port> <mode> [extra args...]
//
// where <mode> is "websocket" (transports: ['websocket']), "polling" (transports: ['polling'])
// or "default" (polling, then the upgrade to WebSocket), and prints ONE JSON line: what the
// client saw. On an error or past the deadline it prints {"error": ..., "seen": ...} and exits
// non-zero, so the test fails with what was seen so far.
"use strict";

// GSIO_SIO_CLIENT names another build of the client (an npm alias: socket.io-client-v3).
const { io, Manager } = require(process.env.GSIO_SIO_CLIENT || "socket.io-client");

const port = process.argv[2];
const mode = process.argv[3] || "websocket";
const extra = process.argv.slice(4);
const url = `http://127.0.0.1:${port}`;

function transportOptions(m) {
  if (m === "websocket") return { transports: ["websocket"] };
  if (m === "polling") return { transports: ["polling"] };
  if (m === "default") return {};
  throw new Error(`unknown mode ${m}`);
}

// GSIO_SIO_PARSER names the parser package the clients use (socket.io-msgpack-parser).
const parser = process.env.GSIO_SIO_PARSER ? { parser: require(process.env.GSIO_SIO_PARSER) } : {};

// Every client gets its own Manager (forceNew) and no reconnection unless asked for.
const base = { ...transportOptions(mode), ...parser, forceNew: true, reconnection: false };

// What the scenario saw so far, printed on failure.
const seen = {};

// Every socket made here, closed at the end.
const sockets = [];

function track(socket) {
  sockets.push(socket);
  return socket;
}

// Print the result, close every connection, and let Node exit once what is in flight (the
// polling POST carrying the close) has gone out; force the exit if it does not.
function finish(result, code = 0) {
  // U+2028 and U+2029 are valid in JSON strings, but Python's splitlines() splits on them.
  console.log(JSON.stringify(result).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029"));
  process.exitCode = code;
  for (const socket of sockets) socket.close();
  setTimeout(() => process.exit(code), 3000).unref();
}

function run(main, deadlineMs = 15000) {
  const timer = setTimeout(() => finish({ error: "deadline", seen: pic(seen) }, 2), deadlineMs);
  main()
    .then((result) => {
      clearTimeout(timer);
      finish(pic(result));
    })
    .catch((err) => {
      clearTimeout(timer);
      finish({ error: String((err && err.stack) || err), seen: pic(seen) }, 1);
    });
}

// A JSON picture of what the client received: binaries as {"bin": "<hex>"}.
function pic(value) {
  if (Buffer.isBuffer(value)) return { bin: value.toString("hex") };
  if (value instanceof ArrayBuffer) return { bin: Buffer.from(value).toString("hex") };
  if (ArrayBuffer.isView(value)) {
    return { bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex") };
  }
  if (Array.isArray(value)) return value.map(pic);
  if (value instanceof Error) return { errorMessage: value.message, data: pic(value.data) };
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = pic(v);
    return out;
  }
  return value === undefined ? null : value;
}

// Emit and wait for the ack: resolves with ALL its arguments (emitWithAck keeps the first).
function call(socket, event, ...args) {
  return new Promise((resolve) => socket.emit(event, ...args, (...ack) => resolve(ack)));
}

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

// A connected socket; rejects with the connect_error.
function client(nsp = "/", opts = {}) {
  return track(io(url + nsp, { ...base, ...opts }));
}

function manager(opts = {}) {
  const m = new Manager(url, { ...base, ...opts });
  const socket = m.socket.bind(m);
  m.socket = (nsp, socketOpts) => track(socket(nsp, socketOpts));
  return m;
}

function connect(nsp = "/", opts = {}) {
  const socket = client(nsp, opts);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
}

// The connect_error of a connection that must be refused.
function refused(nsp = "/", opts = {}) {
  const socket = client(nsp, opts);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => reject(new Error(`${nsp} connected: it should be refused`)));
    socket.once("connect_error", (err) => {
      socket.close();
      resolve({ message: err.message, data: err.data === undefined ? null : err.data });
    });
  });
}

// Collects every event a socket receives (onAny), in order.
function record(socket) {
  const events = [];
  socket.onAny((event, ...args) => {
    const data = args.filter((a) => typeof a !== "function"); // an ack callback
    events.push([event, ...data]);
  });
  return events;
}

function waitUntil(predicate, what, limitMs = 10000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (predicate()) return resolve();
      if (Date.now() - started > limitMs) return reject(new Error(`waited too long for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

function waitUpgrade(socket) {
  if (socket.io.engine.transport.name === "websocket") return Promise.resolve();
  return once(socket.io.engine, "upgrade");
}

function transportName(socket) {
  return socket.io.engine.transport.name;
}

function deepEqual(a, b) {
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) {
    return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((x, i) => deepEqual(x, b[i]))
    );
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return deepEqual(ka, kb) && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return a === b;
}

module.exports = {
  url,
  mode,
  extra,
  base,
  seen,
  run,
  pic,
  client,
  manager,
  call,
  once,
  connect,
  refused,
  record,
  waitUntil,
  waitUpgrade,
  transportName,
  deepEqual,
};
