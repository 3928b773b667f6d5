#!/usr/bin/env node
// loadgen_pings.js - ../shared/bench/loadgen.js (copied 2026-12-05, unchanged but for what
// the lines marked "pings:" add) that also times the server's heartbeats: every websocket
// client records each PING's arrival against its schedule (the PONG it sent before, or the
// handshake, + the pingInterval the handshake announced), and the result gains
// pings, ping_late_p50_ms / ping_late_p99_ms / ping_late_max_ms and ping_missed (pings later
// than pingTimeout: a client would have given up). fanout gains --rounds R (R triggers, one
// after the other, each waiting for its deliveries), so that a short pingInterval falls
// inside it. benchmarks/heartbeats.py drives it.
//
// (the shared loadgen.js's own header follows)
// loadgen.js - cheap load generator for Socket.IO v5 / Engine.IO v4 servers.
// Speaks the wire protocol directly over minimal built-in websocket and HTTP/1.1 clients
// (raw TCP; `--client ws` switches websocket to the `ws` package), runs ONE scenario and
// prints ONE JSON line on stdout (diagnostics go to stderr).
//
//   node loadgen.js SCENARIO --port P [--pid SERVER_PID] [--option value ...]
//
//   SCENARIO  connect  open --n websocket clients, time it, server RSS before/after
//             echo     --c websocket clients, each a closed loop of 'echo' request/ack
//             fanout   --n websocket clients; one 'broadcast'(m, payload) -> n*m 'msg' deliveries
//             polling  like echo, but --c clients on HTTP long-polling only
//
// Everything is bounded: connects have a 10 s timeout, measured phases last --t seconds,
// fanout waits at most --wait seconds, and the whole run exits after --timeout seconds.
'use strict';
const WebSocket = require('ws');
const net = require('net');
const fs = require('fs');

const opt = {
  port: 3000, pid: 0, // server port; server PID (RSS/CPU are summed over its process tree)
  n: 1000, // connect/fanout: websocket clients
  c: 100, // echo/polling: concurrent clients, each with one outstanding ack
  t: 10, warmup: 2, // echo/polling: measured seconds, warm-up seconds before that
  m: 100, wait: 60, // fanout: broadcasts per trigger, max seconds to wait for all deliveries
  rounds: 1, // pings: fanout triggers, one after the other
  payload: 32, // length of the string payload
  conc: 100, // max handshakes in flight while connecting
  settle: 1, // connect: seconds to wait before reading RSS after connecting / after closing
  timeout: 150, // hard limit for the whole process, seconds
  client: 'raw', // websocket client: 'raw' (minimal built-in, cheap) or 'ws' (the ws package)
};
const scenario = process.argv[2];
for (let i = 3; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  const v = process.argv[i + 1];
  if (!(k in opt) || v === undefined || (typeof opt[k] === 'number' && isNaN(Number(v)))) fatal(`bad option ${process.argv[i]}`);
  opt[k] = typeof opt[k] === 'number' ? Number(v) : v;
}
const SCENARIOS = { connect: scConnect, echo: scEcho, fanout: scFanout, polling: scPolling };
if (!SCENARIOS[scenario]) fatal(`usage: loadgen.js ${Object.keys(SCENARIOS).join('|')} --port P [--pid PID] ...`);

const result = { scenario }; // filled progressively so a timeout can still report something
const now = () => performance.now(); // ms
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PAYLOAD = 'x'.repeat(opt.payload);

function fatal(msg) { console.error(msg); process.exit(2); }
function emit(extra) { console.log(JSON.stringify(Object.assign(result, extra, pingStats()))); }
// pings: each PING's lateness (ms) against its schedule, over every client
const pingLate = [];
let pingTimeoutMs = 0;
function pingStats() {
  const n = pingLate.length;
  if (!n) return { pings: 0 };
  const a = Float64Array.from(pingLate).sort();
  const at = (p) => r3(a[Math.min(n - 1, Math.floor((p / 100) * n))]);
  return {
    pings: n, ping_late_p50_ms: at(50), ping_late_p99_ms: at(99), ping_late_max_ms: r3(a[n - 1]),
    ping_missed: pingLate.filter((x) => x > pingTimeoutMs).length,
  };
}
setTimeout(() => { emit({ error: 'timeout' }); process.exit(3); }, opt.timeout * 1000).unref();

// ---------------------------------------------------------------- server + self accounting
function procTree(pid) { // pid and all its descendants
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks = [];
    try { tasks = fs.readdirSync(`/proc/${out[i]}/task`); } catch { continue; }
    for (const t of tasks) {
      try {
        for (const c of fs.readFileSync(`/proc/${out[i]}/task/${t}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
      } catch { /* exited */ }
    }
  }
  return out;
}
function serverRssKiB() {
  if (!opt.pid) return null;
  let kib = 0;
  for (const p of procTree(opt.pid)) {
    try { kib += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))[1]); } catch { /* exited */ }
  }
  return kib;
}
function serverCpuS() { // utime+stime of the server tree, seconds (CLK_TCK = 100 on Linux)
  if (!opt.pid) return null;
  let ticks = 0;
  for (const p of procTree(opt.pid)) {
    try {
      const s = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] = field 3 (state)
      ticks += Number(f[11]) + Number(f[12]); // fields 14, 15
    } catch { /* exited */ }
  }
  return ticks / 100;
}
function hostTicks() { // machine-wide /proc/stat: [idle+iowait, irq+softirq, steal] ticks
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return [f[3] + f[4], f[5] + f[6], f[7]];
}
function otherTicks() { // CPU ticks of every process except the server tree and us, by pid+start
  const ours = new Set(opt.pid ? procTree(opt.pid) : []).add(process.pid);
  const m = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!(d.charCodeAt(0) <= 57) || ours.has(Number(d))) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      m.set(`${d}:${f[19]}`, Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])); // incl. reaped children
    } catch { /* exited */ }
  }
  return m;
}
function meter() {
  return { t: now(), cpu: process.cpuUsage(), srv: serverCpuS(), host: hostTicks(), other: otherTicks() };
}
function usage(a, b) { // wall time + CPU use between two meter() calls, as % of one core
  const wall = (b.t - a.t) / 1000;
  const pct = (sec) => r1((100 * sec) / wall);
  const lg = (b.cpu.user - a.cpu.user + b.cpu.system - a.cpu.system) / 1e6;
  const r = { wall_s: r3(wall), lg_cpu_s: r3(lg), lg_cpu_pct: pct(lg) };
  if (a.srv !== null) { r.srv_cpu_s = r3(b.srv - a.srv); r.srv_cpu_pct = pct(b.srv - a.srv); }
  const [idle, irq, steal] = b.host.map((v, i) => (v - a.host[i]) / 100);
  let other = 0;
  for (const [k, v] of b.other) other += v - (a.other.get(k) || 0);
  // idle: machine idle (all cores); irq: interrupt+softirq time (loopback TCP; partly also
  // inside the process times above); steal: taken by the hypervisor; other: other processes
  return Object.assign(r, { idle_pct: pct(idle), irq_cpu_pct: pct(irq), steal_pct: pct(steal), other_cpu_pct: pct(other / 100) });
}
const r1 = (x) => Math.round(x * 10) / 10;
const r3 = (x) => Math.round(x * 1000) / 1000;
function percentiles(samples, n) { // samples: Float64Array (ms), n used entries
  if (!n) return { p50_ms: null, p99_ms: null };
  const a = samples.subarray(0, n).sort();
  const at = (p) => r3(a[Math.min(n - 1, Math.floor((p / 100) * n))]);
  return { p50_ms: at(50), p99_ms: at(99), max_ms: r3(a[n - 1]) };
}

// ---------------------------------------------------------------- websocket clients
// Engine.IO/Socket.IO dispatch of one websocket message (a Buffer), looking at the first bytes
// only; shared by both websocket clients. c.onAck(buf) / c.onEvent(buf) get the raw Buffer.
function onWsMessage(c, d) {
  const t = d[0];
  if (t === 0x34) { // '4' Engine.IO message -> Socket.IO packet
    const st = d[1];
    if (st === 0x33) c.onAck && c.onAck(d); // '3' ACK
    else if (st === 0x32) c.onEvent && c.onEvent(d); // '2' EVENT
    else if (st === 0x30) c.connected(); // '0' CONNECT
    else if (st === 0x34) c.failed(new Error(`connect_error ${d}`)); // '4' CONNECT_ERROR
  } else if (t === 0x32) { // '2' ping -> '3' pong
    const at = now(); // pings: the server pings pingInterval after the last pong (or the open)
    if (c.pingDue) pingLate.push(at - c.pingDue);
    c.send('3');
    c.pingDue = now() + c.pingInterval;
  } else if (t === 0x30) { // '0' open -> Socket.IO CONNECT to namespace '/'
    const hs = JSON.parse(d.toString('utf8', 1)); // pings: the schedule the server announces
    c.pingInterval = hs.pingInterval;
    pingTimeoutMs = hs.pingTimeout;
    c.pingDue = now() + hs.pingInterval;
    c.send('40');
  }
  else if (t === 0x31) c.close(); // '1' close
}
function ackId(buf) { // '43<id>[...]' -> id; parsed from bytes (websocket) without decoding
  if (typeof buf === 'string') return parseInt(buf.slice(2), 10); // polling packets are strings
  let id = 0;
  for (let i = 2; i < buf.length; i++) {
    const c = buf[i];
    if (c < 48 || c > 57) break;
    id = id * 10 + (c - 48);
  }
  return id;
}
const WS_PATH = '/socket.io/?EIO=4&transport=websocket';
class BaseClient {
  // connect() resolves once the server's Socket.IO CONNECT ('40{...}') arrives; 10 s timeout.
  connect() {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.failed(new Error('connect timeout')); this.abort(); }, 10000);
      this.connected = () => { clearTimeout(timer); this.connected = () => {}; resolve(this); };
      this.failed = (e) => { clearTimeout(timer); this.closed = true; reject(e); };
      this.open();
    });
  }
}

// Minimal RFC 6455 client on a raw TCP socket (default, --client raw): fixed handshake key,
// all-zero masking key (valid, and makes masking a no-op), no extensions. Much cheaper per
// message and per connection than `ws`, which matters when sharing 2 cores with the server.
const UPGRADE = `GET ${WS_PATH} HTTP/1.1\r\nHost: 127.0.0.1:${opt.port}\r\nUpgrade: websocket\r\n` +
  'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
class RawWsClient extends BaseClient {
  open() {
    this.buf = null;
    this.upgraded = false;
    this.frag = null; // fragments of a message in progress
    const sock = (this.sock = net.connect(opt.port, '127.0.0.1', () => sock.write(UPGRADE)));
    sock.setNoDelay(true);
    sock.on('data', (d) => this.onData(d));
    sock.on('error', (e) => this.failed(e));
    sock.on('close', () => { this.closed = true; this.failed(new Error('closed')); });
  }
  onData(d) {
    let b = this.buf ? Buffer.concat([this.buf, d]) : d;
    if (!this.upgraded) {
      const he = b.indexOf('\r\n\r\n');
      if (he < 0) { this.buf = b; return; }
      if (b.toString('latin1', 9, 12) !== '101') {
        this.failed(new Error(`upgrade refused: ${b.toString('latin1', 0, Math.min(he, 120))}`));
        return this.abort();
      }
      this.upgraded = true;
      b = b.subarray(he + 4);
    }
    let i = 0;
    while (b.length - i >= 2) {
      const fin = b[i] & 0x80, op = b[i] & 0x0f, masked = b[i + 1] & 0x80;
      let len = b[i + 1] & 0x7f, h = 2;
      if (len === 126) { if (b.length - i < 4) break; len = b.readUInt16BE(i + 2); h = 4; }
      else if (len === 127) { if (b.length - i < 10) break; len = Number(b.readBigUInt64BE(i + 2)); h = 10; }
      if (masked) h += 4; // servers must not mask, but be lenient
      if (b.length - i < h + len) break;
      const p = b.subarray(i + h, i + h + len); // a view: handlers must not keep it
      if (masked) for (let k = 0; k < len; k++) p[k] ^= b[i + h - 4 + (k & 3)];
      i += h + len;
      if (op === 8) { this.sock.end(); this.closed = true; continue; } // close: just hang up
      if (op === 9) { this.frame(0x8a, p); continue; } // ping -> pong
      if (op === 10) continue;
      if (!fin) { this.frag = this.frag ? Buffer.concat([this.frag, p]) : p; continue; }
      if (op === 0 && this.frag) { onWsMessage(this, Buffer.concat([this.frag, p])); this.frag = null; continue; }
      onWsMessage(this, p);
    }
    this.buf = i < b.length ? b.subarray(i) : null;
  }
  frame(first, payload) { // masked frame with an all-zero key: payload bytes go out unchanged
    const len = payload.length;
    const h = len < 126 ? 6 : len < 65536 ? 8 : 14;
    const f = Buffer.allocUnsafe(h + len);
    f[0] = first;
    if (len < 126) f[1] = 0x80 | len;
    else if (len < 65536) { f[1] = 0xfe; f.writeUInt16BE(len, 2); }
    else { f[1] = 0xff; f.writeBigUInt64BE(BigInt(len), 2); }
    f.writeUInt32BE(0, h - 4);
    payload.copy(f, h);
    if (!this.sock.destroyed) this.sock.write(f);
  }
  send(s) { this.frame(0x81, Buffer.from(s)); }
  abort() { this.sock.destroy(); }
  close() {
    if (this.closed || this.sock.destroyed) return Promise.resolve();
    return new Promise((r) => {
      this.sock.once('close', r);
      this.frame(0x88, Buffer.from([0x03, 0xe8])); // close, code 1000
      this.closed = true;
    });
  }
}

// The same client on the `ws` package (--client ws): reference implementation, for cross-checks.
class WsPkgClient extends BaseClient {
  open() {
    const ws = (this.ws = new WebSocket(`ws://127.0.0.1:${opt.port}${WS_PATH}`, { perMessageDeflate: false }));
    ws.on('message', (d) => onWsMessage(this, d));
    ws.on('error', (e) => this.failed(e));
    ws.on('close', () => { this.closed = true; this.failed(new Error('closed')); });
  }
  send(s) { if (this.ws.readyState === 1) this.ws.send(s); }
  abort() { this.ws.terminate(); }
  close() {
    if (this.closed) return Promise.resolve();
    return new Promise((r) => { this.ws.once('close', r); this.ws.close(); this.closed = true; });
  }
}
const WsClient = opt.client === 'ws' ? WsPkgClient : RawWsClient;

async function connectMany(count, make) {
  const clients = [];
  const lat = new Float64Array(count);
  let next = 0;
  let errors = 0;
  let lastError;
  async function worker() {
    while (next < count) {
      next++;
      const t0 = now();
      const c = make();
      try {
        await c.connect();
        lat[clients.length] = now() - t0;
        clients.push(c);
      } catch (e) { errors++; lastError = String(e.message || e); }
    }
  }
  await Promise.all(Array.from({ length: Math.min(opt.conc, count) }, worker));
  if (errors) console.error(`connect errors: ${errors}, last: ${lastError}`);
  return { clients, lat, errors, lastError };
}
async function closeAll(clients, ms = 5000) {
  await Promise.race([Promise.all(clients.map((c) => c.close())), sleep(ms)]);
}

// ---------------------------------------------------------------- scenarios
async function scConnect() {
  Object.assign(result, { n: opt.n, conc: opt.conc });
  const rss0 = serverRssKiB();
  const m0 = meter();
  const { clients, lat, errors, lastError } = await connectMany(opt.n, () => new WsClient());
  const m1 = meter();
  const u = usage(m0, m1);
  await sleep(opt.settle * 1000);
  const rss1 = serverRssKiB();
  Object.assign(result, {
    ok: clients.length, errors, last_error: lastError, connect_s: u.wall_s,
    conn_per_s: r1(clients.length / u.wall_s), ...percentiles(lat, clients.length),
    rss_before_kib: rss0, rss_after_kib: rss1,
    kib_per_conn: rss0 === null ? null : r1((rss1 - rss0) / Math.max(1, clients.length)), ...u,
  });
  await closeAll(clients);
  await sleep(opt.settle * 1000);
  emit({ rss_closed_kib: serverRssKiB() });
}

// Closed-loop request/ack driver shared by echo (websocket) and polling.
// Each client keeps exactly one 'echo' in flight; acks are counted during the measured window.
async function ackLoop(clients) {
  const args = JSON.stringify(['echo', PAYLOAD]).slice(1); // '"echo","xxx"]'
  const ackTail = JSON.stringify([PAYLOAD]).length; // expected ack = '43' + id + '["xxx"]'
  const cap = 5e6;
  const lat = new Float64Array(cap);
  let nlat = 0, acks = 0, bad = 0, inflight = 0, phase = 0; // 0 warm-up, 1 measure, 2 drain
  for (const c of clients) {
    let id = 0, t0 = 0;
    const fire = () => {
      if (phase === 2 || c.closed) return;
      id++; inflight++; t0 = now();
      c.send('42' + id + '[' + args);
    };
    c.onAck = (d) => {
      const t = now();
      inflight--;
      if (ackId(d) !== id || d.length !== 2 + String(id).length + ackTail) bad++;
      if (phase === 1) { acks++; if (nlat < cap) lat[nlat++] = t - t0; }
      fire();
    };
    fire();
  }
  await sleep(opt.warmup * 1000);
  phase = 1;
  const m0 = meter();
  await sleep(opt.t * 1000);
  const m1 = meter();
  phase = 2;
  const u = usage(m0, m1);
  for (let i = 0; i < 30 && inflight > 0; i++) await sleep(100); // drain, bounded
  Object.assign(result, { acks, acks_per_s: r1(acks / u.wall_s), bad_acks: bad, ...percentiles(lat, nlat), ...u });
}

async function scEcho() {
  Object.assign(result, { c: opt.c, t: opt.t, payload: opt.payload });
  const { clients, errors } = await connectMany(opt.c, () => new WsClient());
  result.connect_errors = errors;
  await ackLoop(clients);
  await closeAll(clients);
  emit();
}

async function scFanout() {
  Object.assign(result, { n: opt.n, m: opt.m, payload: opt.payload });
  const { clients, errors } = await connectMany(opt.n, () => new WsClient());
  const expected = clients.length * opt.m * opt.rounds; // pings: * rounds
  let delivered = 0, tFirst = 0, tLast = 0, tAck = 0, done;
  const allDone = new Promise((r) => (done = r));
  let roundDone = () => {}; // pings: one round's deliveries are in
  for (const c of clients) {
    c.onEvent = () => { // only 'msg' events are expected here
      tLast = now();
      if (++delivered === 1) tFirst = tLast;
      if (delivered % (clients.length * opt.m) === 0) roundDone();
      if (delivered === expected) done();
    };
  }
  const trigger = clients[0];
  let acked;
  let ackDone = new Promise((r) => (acked = r));
  trigger.onAck = () => { if (!tAck) tAck = now(); acked(); };
  const m0 = meter();
  const t0 = now();
  for (let r = 0; r < opt.rounds; r++) { // pings: --rounds triggers, one after the other
    const round = new Promise((res) => (roundDone = res));
    if (r) ackDone = new Promise((res) => (acked = res));
    trigger.send('42' + (r + 1) + JSON.stringify(['broadcast', opt.m, PAYLOAD]));
    await Promise.race([Promise.all([round, ackDone]), sleep(opt.wait * 1000)]);
  }
  await Promise.race([Promise.all([allDone]), sleep(100)]);
  const u = usage(m0, meter());
  const span = (tLast || now()) - t0;
  Object.assign(result, {
    clients: clients.length, connect_errors: errors, expected, delivered,
    ack_ms: tAck ? r1(tAck - t0) : null, first_ms: tFirst ? r1(tFirst - t0) : null,
    last_ms: tLast ? r1(tLast - t0) : null, msgs_per_s: r1(delivered / (span / 1000)),
    complete: delivered === expected, ...u,
  });
  await closeAll(clients);
  emit();
}

// ---------------------------------------------------------------- HTTP long-polling client
// Minimal keep-alive HTTP/1.1 client on one TCP connection, one request at a time
// (node:http costs ~3x more CPU per request). Understands Content-Length and chunked bodies.
class HttpConn {
  request(method, path, body) {
    if (!this.sock || this.sock.destroyed || this.dead) this.open();
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      const extra = body === undefined ? '' : `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
      this.sock.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${opt.port}\r\n${extra}\r\n${body || ''}`);
    });
  }
  open() {
    this.buf = null;
    this.dead = false;
    const sock = (this.sock = net.connect(opt.port, '127.0.0.1'));
    sock.setNoDelay(true);
    sock.on('data', (d) => { this.buf = this.buf ? Buffer.concat([this.buf, d]) : d; this.parse(); });
    sock.on('error', (e) => this.finish(e));
    sock.on('close', () => { this.dead = true; this.finish(new Error('connection closed')); });
  }
  finish(err, res) {
    const p = this.pending;
    this.pending = null;
    if (p) err ? p.reject(err) : p.resolve(res);
  }
  parse() {
    const b = this.buf;
    const he = b.indexOf('\r\n\r\n');
    if (he < 0) return;
    const head = b.toString('latin1', 0, he);
    const status = Number(head.slice(9, 12));
    let body, end;
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (cl) {
      end = he + 4 + Number(cl[1]);
      if (b.length < end) return;
      body = b.toString('utf8', he + 4, end);
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const parts = [];
      for (let i = he + 4; ;) {
        const le = b.indexOf('\r\n', i);
        if (le < 0) return;
        const size = parseInt(b.toString('latin1', i, le), 16);
        if (b.length < le + 4 + size) return;
        if (size === 0) { end = le + 4; break; }
        parts.push(b.subarray(le + 2, le + 2 + size));
        i = le + 4 + size;
      }
      body = Buffer.concat(parts).toString('utf8');
    } else {
      body = ''; end = he + 4; // no body (e.g. 204) - nothing else is expected here
    }
    this.buf = end < b.length ? b.subarray(end) : null;
    if (/\r\nconnection:\s*close/i.test(head) || head.startsWith('HTTP/1.0')) this.dead = true;
    this.finish(null, { status, body });
  }
  destroy() { if (this.sock) this.sock.destroy(); }
}

class PollClient extends BaseClient {
  // One long-poll GET always outstanding on its own connection; POSTs are serialized on a
  // second connection (Engine.IO forbids overlapping POSTs per sid), packets queued
  // meanwhile go out together separated by \x1e. Polling packets are strings.
  open() {
    this.q = [];
    this.posting = false;
    this.getConn = new HttpConn();
    this.postConn = new HttpConn();
    const base = '/socket.io/?EIO=4&transport=polling';
    this.getConn.request('GET', base).then((r) => {
      if (r.status !== 200 || r.body[0] !== '0') throw new Error(`handshake ${r.status} ${r.body.slice(0, 80)}`);
      this.sid = JSON.parse(r.body.split('\x1e')[0].slice(1)).sid;
      this.path = `${base}&sid=${encodeURIComponent(this.sid)}`;
      this.post('40');
      this.pollLoop();
    }).catch((e) => this.fail(e));
  }
  async pollLoop() {
    while (!this.closed) {
      let r;
      try { r = await this.getConn.request('GET', this.path); } catch (e) { return this.fail(e); }
      if (r.status !== 200) return this.fail(new Error(`GET ${r.status} ${r.body.slice(0, 80)}`));
      for (const p of r.body.split('\x1e')) this.handle(p);
    }
  }
  handle(p) {
    if (p[0] === '4') {
      if (p[1] === '3') this.onAck && this.onAck(p);
      else if (p[1] === '2') this.onEvent && this.onEvent(p);
      else if (p[1] === '0') this.connected();
      else if (p[1] === '4') this.fail(new Error(`connect_error ${p}`));
    } else if (p === '2') this.post('3');
    else if (p === '1') this.closed = true;
  }
  post(pkt) { this.q.push(pkt); if (!this.posting) this.flush(); }
  async flush() {
    this.posting = true;
    while (this.q.length && !this.isFailed) {
      const body = this.q.join('\x1e');
      this.q = [];
      try {
        const r = await this.postConn.request('POST', this.path, body);
        if (r.status !== 200) throw new Error(`POST ${r.status} ${r.body.slice(0, 80)}`);
      } catch (e) { this.fail(e); }
    }
    this.posting = false;
  }
  send(s) { this.post(s); }
  fail(e) {
    if (!this.isFailed && !this.closed) {
      this.isFailed = true;
      result.poll_errors = (result.poll_errors || 0) + 1;
      result.last_error = String(e.message || e);
    }
    this.failed(e);
    this.abort();
  }
  abort() { this.getConn.destroy(); this.postConn.destroy(); }
  async close() { // Engine.IO close packet, so the server frees the session now, not after 45 s
    if (this.closed) return this.abort();
    this.post('1');
    this.closed = true;
    for (let i = 0; i < 20 && this.posting; i++) await sleep(50);
    this.abort();
  }
}

async function scPolling() {
  Object.assign(result, { c: opt.c, t: opt.t, payload: opt.payload });
  const { clients, errors } = await connectMany(opt.c, () => new PollClient());
  result.connect_errors = errors;
  await ackLoop(clients);
  await closeAll(clients, 3000);
  emit();
}

SCENARIOS[scenario]().then(
  () => process.exit(0),
  (e) => { emit({ error: String((e && e.stack) || e) }); process.exit(1); },
);
