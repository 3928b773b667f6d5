// Drives tests/servers/metrics_app.py and scrapes its GET /metrics between the steps:
//   node sio_metrics.js <port> websocket [clients | heartbeat | workers]
// "clients" (the default): four clients: "/" on WebSocket (a) and polling (b), "/chat" on WebSocket (c) and polling (d).
// Scrapes: "connected" once all are in; "traffic" after a's echo, b's shout (a broadcast to
// a and b), an ack c never sends (pend) and one d lets time out (ask 0.3 s); "left" once a
// disconnected itself (client namespace disconnect) and c's transport closed (transport close).
// Prints {scrapes: {step: text}, ...}.
// "heartbeat" (pings every second): two clients; after a ping, one has the server block its
// process for 2.5 s (pings fall due meanwhile): prints {text}, scraped right after.
// "workers" (gunicorn -w 2): WebSocket clients on "/" until two workers have some (at most
// 60), then scrapes until the connected clients it counts are theirs: {count, pids, text}.
"use strict";

const http = require("http");
const { run, connect, call, once, url, seen, extra } = require("./sio_common");

const scenario = extra[0] || "clients";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function scrape() {
  return new Promise((resolve, reject) => {
    http
      .get(`${url}/metrics`, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(body))));
      })
      .on("error", reject);
  });
}

// The value of one sample line of the text format ("name{labels} value"), or 0.
function sample(text, line) {
  for (const l of text.split("\n")) {
    if (l.startsWith(line + " ")) return Number(l.slice(line.length + 1));
  }
  return 0;
}

async function heartbeat() {
  const a = await connect("/");
  const b = await connect("/");
  await sleep(1500); // pings every second
  await call(a, "block", 2.5);
  // At once: the late ping's lateness is its session's until its next ping, a second later.
  return { text: await scrape(), ids: [a.id, b.id] };
}

async function workers() {
  const pids = {};
  let count = 0;
  while (Object.keys(pids).length < 2 && count < 60) {
    const batch = await Promise.all(
      Array.from({ length: 10 }, () => connect("/", { transports: ["websocket"] })),
    );
    for (const socket of batch) {
      const [echoed] = await call(socket, "echo");
      pids[echoed[0]] = (pids[echoed[0]] || 0) + 1;
      count += 1;
    }
  }
  seen.pids = pids;
  // (each worker copies its counts every 0.2 s: until both have copied everything)
  const all = (t) =>
    sample(t, 'gsio_connected_clients{namespace="/",transport="websocket"}') === count &&
    sample(t, 'gsio_packets_received_total{namespace="/"}') === count;
  const deadline = Date.now() + 15000;
  let text = await scrape();
  while (!all(text) && Date.now() < deadline) {
    await sleep(100);
    text = await scrape();
  }
  return { count, pids, text };
}

async function clients() {
  const ws = { transports: ["websocket"] };
  const polling = { transports: ["polling"] };
  const a = await connect("/", ws);
  const b = await connect("/", polling);
  const c = await connect("/chat", ws);
  const d = await connect("/chat", polling);
  const scrapes = {};
  scrapes.connected = await scrape();

  const echoed = await call(a, "echo", "hello");
  const newsA = once(a, "news");
  const newsB = once(b, "news");
  await call(b, "shout", "hi");
  await Promise.all([newsA, newsB]);
  const question = once(c, "q");
  await call(c, "pend", "q");
  await question;
  d.on("q2", () => {}); // never answered: the server's callback gets AckTimeout
  const asked = await call(d, "ask", 0.3, "q2");
  seen.asked = asked;
  scrapes.traffic = await scrape();

  a.disconnect();
  c.io.engine.close();
  const deadline = Date.now() + 10000;
  let text = await scrape();
  const left = (t) =>
    sample(t, 'gsio_disconnections_total{namespace="/",reason="client namespace disconnect"}') ===
      1 &&
    sample(t, 'gsio_disconnections_total{namespace="/chat",reason="transport close"}') === 1 &&
    sample(t, 'gsio_connected_clients{namespace="/",transport="websocket"}') === 0 &&
    sample(t, 'gsio_connected_clients{namespace="/chat",transport="websocket"}') === 0;
  while (!left(text) && Date.now() < deadline) {
    await sleep(50);
    text = await scrape();
  }
  scrapes.left = text;
  return { scrapes, echoed, asked, ids: { a: a.id, b: b.id, c: c.id, d: d.id } };
}

run({ clients, heartbeat, workers }[scenario], 30000);
