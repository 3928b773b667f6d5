// Cross-process broadcast load: N WebSocket clients spread over the servers of a cluster; the
// first client asks the first server to broadcast `msg` M times to every socket; every client
// counts what arrives. Prints one JSON line.
//
//   node load.js --ports 3001,3002 --n 1000 --m 100 [--payload 32] [--timeout 60]
"use strict";

const { io } = require("socket.io-client");

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const ports = arg("ports").split(",").map(Number);
const n = Number(arg("n", 1000));
const m = Number(arg("m", 100));
const payload = "x".repeat(Number(arg("payload", 32)));
const timeoutMs = Number(arg("timeout", 60)) * 1000;

function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = io(`http://127.0.0.1:${port}`, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
    });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

async function main() {
  const sockets = [];
  const serverOf = [];
  for (let start = 0; start < n; start += 100) {
    const batch = [];
    for (let i = start; i < Math.min(n, start + 100); i++) {
      serverOf.push(i % ports.length);
      batch.push(connect(ports[i % ports.length]));
    }
    sockets.push(...(await Promise.all(batch)));
  }
  // Let the cluster settle (every server subscribed, every socket joined).
  await new Promise((r) => setTimeout(r, 1000));
  const expected = n * m;
  const perServer = ports.map(() => ({ count: 0, last: 0, first: 0 }));
  let received = 0;
  let t0 = 0;
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout: ${received} of ${expected}`)), timeoutMs);
    sockets.forEach((socket, i) => {
      const stats = perServer[serverOf[i]];
      socket.on("msg", () => {
        const now = performance.now();
        if (!stats.first) stats.first = now;
        stats.count++;
        stats.last = now;
        if (++received === expected) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  });
  t0 = performance.now();
  const acked = new Promise((resolve) =>
    sockets[0].emit("broadcast", m, payload, () => resolve(performance.now())),
  );
  await done;
  const ackAt = await acked;
  const end = performance.now();
  const result = {
    n,
    m,
    delivered: received,
    seconds: (end - t0) / 1000,
    msgs_per_s: received / ((end - t0) / 1000),
    trigger_ack_ms: ackAt - t0,
    servers: perServer.map((s) => ({
      delivered: s.count,
      first_ms: s.first - t0,
      last_ms: s.last - t0,
      msgs_per_s: s.count / ((s.last - t0) / 1000),
    })),
  };
  console.log(JSON.stringify(result));
  for (const socket of sockets) socket.close();
  setTimeout(() => process.exit(0), 500).unref();
}

main().catch((err) => {
  console.log(JSON.stringify({ error: String(err.message || err) }));
  process.exit(1);
});
