// socket.io-client sockets that keep working while workers die or are replaced: <n> per
// transport setup (polling only, WebSocket only, the default upgrade), reconnection on. Each
// socket asks its worker's pid after every connect, then echoes acked events in a loop (a
// short pause between them) until told to stop. Driven from the test on stdin:
//
//   node sio_churn.js <port> default <n>
//   stdout: {"ready": [[group, pid], ...]} once every socket is connected and knows its pid
//   stdin "status" -> {"status": [{group, pid, connected, pids, acks}, ...]}
//   stdin "pause <group>" -> {"paused": group} once that group's sockets wait, none of their
//        acks in flight (the long-polling GETs stay); "resume <group>" -> {"resumed": group}
//   stdin "stop"   -> the last line: per socket, everything it saw (see `state`), then exit
//
// Each socket has its own http.Agent (engine.io-client's default, `agent: false`, makes a
// fresh one per request in Node: no pool is shared between sockets, as between browsers).
// What a socket saw: the pids it was served by in order, its disconnects (reason and the
// transport error's description: which request failed, and how), connect errors, reconnect
// attempts, acks answered, acks failed (and why), wrong echoes.
"use strict";

const readline = require("readline");
const c = require("./sio_common");

const n = parseInt(c.extra[0], 10);
const started = Date.now();
const sockets = [];
const states = [];
let stopping = false;
const paused = new Set();

function describe(desc) {
  if (!desc) return null;
  const out = {};
  if (desc.message) out.message = String(desc.message);
  if (desc.description !== undefined) out.description = String(desc.description && (desc.description.message || desc.description.code || desc.description));
  if (desc.context) {
    const ctx = desc.context;
    out.status = ctx.status;
    out.response = typeof ctx.responseText === "string" ? ctx.responseText.slice(0, 200) : undefined;
    if (ctx.url) out.url = String(ctx.url);
  }
  if (desc.type) out.type = desc.type;
  return out;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The ack's arguments, or a rejection (no ack within 10 s, or the socket was disconnected).
function ask(s, ...args) {
  return new Promise((resolve, reject) =>
    s.timeout(10000).emit(...args, (err, ...answer) => (err ? reject(err) : resolve(answer))));
}

async function loop(s, state) {
  let i = 0;
  while (!stopping) {
    state.idle = true;
    while (paused.has(state.group) && !stopping) await sleep(20);
    state.idle = false;
    if (!s.connected) {
      await new Promise((resolve) => s.once("connect", resolve));
      if (stopping) return;
    }
    if (state.pid === null) {
      try {
        const [pid] = await ask(s, "pid");
        state.pid = pid;
        state.pids.push(pid);
      } catch (err) {
        state.failed.push({ at: Date.now() - started, event: "pid", error: String(err.message) });
      }
      continue;
    }
    i += 1;
    try {
      const [a, b] = await ask(s, "echo", i, "x");
      if (a === i && b === "x") state.acks += 1;
      else state.bad += 1;
    } catch (err) {
      state.failed.push({ at: Date.now() - started, event: "echo", error: String(err.message) });
    }
    await sleep(50);
  }
}

const groups = { polling: ["polling"], websocket: ["websocket"], default: ["polling", "websocket"] };
for (const [group, transports] of Object.entries(groups)) {
  for (let k = 0; k < n; k++) {
    const s = c.client("/", { transports, reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 });
    const state = {
      idle: false, group, pid: null, pids: [], connects: 0, disconnects: [], connect_errors: [],
      attempts: 0, acks: 0, failed: [], bad: 0,
    };
    s.on("connect", () => (state.connects += 1));
    s.on("disconnect", (reason, desc) => {
      state.pid = null;
      state.disconnects.push({ at: Date.now() - started, reason, desc: describe(desc), transport: s.io.engine && s.io.engine.transport ? s.io.engine.transport.name : null });
    });
    s.on("connect_error", (err) => state.connect_errors.push({ at: Date.now() - started, message: err.message, desc: describe(err) }));
    s.io.on("reconnect_attempt", () => (state.attempts += 1));
    sockets.push(s);
    states.push(state);
  }
}

c.run(async () => {
  const loops = sockets.map((s, k) => loop(s, states[k]));
  await c.waitUntil(() => states.every((st) => st.pid !== null), "every socket's pid", 60000);
  console.log(JSON.stringify({ ready: states.map((st) => [st.group, st.pid]) }));
  const lines = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => {
    lines.on("line", (line) => {
      if (line.trim() === "status") {
        const status = states.map((st, k) => ({
          group: st.group, pid: st.pid, connected: sockets[k].connected, pids: st.pids, acks: st.acks,
          transport: sockets[k].connected ? sockets[k].io.engine.transport.name : null,
        }));
        console.log(JSON.stringify({ status }));
      } else if (line.startsWith("pause ")) {
        const group = line.trim().split(" ")[1];
        paused.add(group);
        c.waitUntil(() => states.every((st) => st.group !== group || st.idle), "idle", 20000)
          .then(() => console.log(JSON.stringify({ paused: group })));
      } else if (line.startsWith("resume ")) {
        const group = line.trim().split(" ")[1];
        paused.delete(group);
        console.log(JSON.stringify({ resumed: group }));
      } else if (line.trim() === "stop") {
        resolve();
      }
    });
    lines.on("close", resolve);
  });
  stopping = true;
  await Promise.race([Promise.all(loops), sleep(12000)]);
  return { states, transports: sockets.map((s) => s.connected && s.io.engine.transport.name) };
}, 600000);
