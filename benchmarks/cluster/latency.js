// Cross-process broadcast latency: client A on the first server, client B on the second, both in
// room "lat" and both in this one Node process (one clock). A asks its server to emit `lat seq`
// to the room, one broadcast at a time; B gets it through Redis ("remote"), A from its own server
// ("local", the reference without Redis). First: the first broadcast after the servers started.
// Then a steady stream: `count` broadcasts, one every `interval` ms. Prints one JSON line.
//
//   node latency.js --ports 3001,3002 [--count 500] [--interval 5] [--timeout 20]
"use strict";

const { io } = require("socket.io-client");

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const ports = arg("ports").split(",").map(Number);
const count = Number(arg("count", 500));
const interval = Number(arg("interval", 5));
const timeoutMs = Number(arg("timeout", 20)) * 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(values) {
  const sorted = values.filter((v) => v !== undefined).sort((a, b) => a - b);
  return {
    received: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

async function main() {
  const [a, b] = await Promise.all([connect(ports[0]), connect(ports[1])]);
  const sent = [];
  const local = [];
  const remote = [];
  let waiting = null;
  a.on("lat", (seq) => {
    local[seq] = performance.now() - sent[seq];
  });
  b.on("lat", (seq) => {
    remote[seq] = performance.now() - sent[seq];
    if (waiting && waiting.seq === seq) waiting.resolve();
  });
  await Promise.all([a.emitWithAck("join", "lat"), b.emitWithAck("join", "lat")]);
  // The join is local to each server: nothing has crossed Redis yet.
  const arrived = (seq) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${seq}`)), timeoutMs);
      waiting = { seq, resolve: () => (clearTimeout(timer), resolve()) };
    });
  const first = arrived(0);
  sent[0] = performance.now();
  a.emit("to_room", "lat", 0);
  await first;
  const firstRemote = remote[0];
  const firstLocal = local[0];
  await sleep(100);
  const t0 = performance.now();
  for (let i = 1; i <= count; i++) {
    const due = t0 + i * interval - performance.now();
    if (due > 0) await sleep(due);
    sent[i] = performance.now();
    a.emit("to_room", "lat", i);
  }
  const deadline = performance.now() + timeoutMs;
  while (remote.length <= count || remote.slice(1).some((v) => v === undefined)) {
    if (performance.now() > deadline) break;
    await sleep(20);
  }
  await sleep(50);
  const steadyRemote = summary(remote.slice(1));
  const steadyLocal = summary(local.slice(1));
  console.log(
    JSON.stringify({
      count,
      interval,
      first_remote_ms: firstRemote,
      first_local_ms: firstLocal,
      remote: steadyRemote,
      local: steadyLocal,
      lost: count - steadyRemote.received,
    }),
  );
  a.close();
  b.close();
  setTimeout(() => process.exit(0), 200).unref();
}

main().catch((err) => {
  console.log(JSON.stringify({ error: String(err.message || err) }));
  process.exit(1);
});
