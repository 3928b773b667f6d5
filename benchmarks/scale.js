#!/usr/bin/env node
// scale.js - idle-connection scale probe for a Socket.IO v5 / Engine.IO v4 server.
// (gsio's copy of ../shared/bench/scale.js, run by benchmarks/scale.py, with one more phase:
// after the hold, --broadcasts times, one client asks for a broadcast to every client (the
// bench contract's 'broadcast' event: io.emit to the whole namespace) and the time from the
// request to each delivery is measured: first, p50, p99, last, and the requester's ack.)
// Opens --n websocket clients (raw protocol: GET /socket.io/?EIO=4&transport=websocket,
// server '0{..}', client '40', server '40{..}'), holds them --hold seconds answering every
// ping '2' with '3', and prints ONE JSON line: connect rate, handshake latency, server RSS
// before / connected / after close, server CPU while holding, ping timing as seen by the
// clients (first ping after open, and ping-to-ping intervals, vs --ping-ms), disconnects,
// and a liveness check (one 'echo' on --probe clients at the end of the hold).
//
//   node scale.js --port P --pid SERVER_PID --n 19900 [--hold 60] [--conc 100]
//                 [--src 127.0.0.2,127.0.0.3]   (local addresses, round robin; default: kernel's)
//                 [--broadcasts 3] [--timeout 400]
//
// Bounded: connects time out after 10 s, the hold lasts --hold s, the whole process exits
// after --timeout s. Loopback only. This process needs one fd per client (ulimit -n).
'use strict';
const net = require('net');
const fs = require('fs');

const opt = {
  port: 3000, pid: 0, n: 1000, conc: 100, hold: 60, settle: 2, ping_ms: 25000,
  probe: 100, src: '', timeout: 400, host: '127.0.0.1', broadcasts: 3,
};
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '').replace(/-/g, '_');
  const v = process.argv[i + 1];
  if (!(k in opt) || v === undefined || (typeof opt[k] === 'number' && isNaN(Number(v)))) {
    console.error(`bad option ${process.argv[i]}`);
    process.exit(2);
  }
  opt[k] = typeof opt[k] === 'number' ? Number(v) : v;
}
const SRCS = opt.src ? opt.src.split(',') : [];
const result = { scenario: 'scale', n: opt.n, hold_s: opt.hold, conc: opt.conc, src: SRCS };
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const r1 = (x) => Math.round(x * 10) / 10;
const r3 = (x) => Math.round(x * 1000) / 1000;
function emit(extra) { console.log(JSON.stringify(Object.assign(result, extra))); }
setTimeout(() => { emit({ error: 'timeout' }); process.exit(3); }, opt.timeout * 1000).unref();

// ---------------------------------------------------------------- /proc accounting (as loadgen.js)
function procTree(pid) {
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
function srvRssKiB() {
  let kib = 0;
  for (const p of procTree(opt.pid)) {
    try { kib += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))[1]); } catch { /* */ }
  }
  return kib;
}
function srvFds() {
  let n = 0;
  for (const p of procTree(opt.pid)) { try { n += fs.readdirSync(`/proc/${p}/fd`).length; } catch { /* */ } }
  return n;
}
function srvCpuS() {
  let ticks = 0;
  for (const p of procTree(opt.pid)) {
    try {
      const s = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* */ }
  }
  return ticks / 100;
}
function hostTicks() { // [idle+iowait, steal, total]
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return [f[3] + f[4], f[7], f.slice(0, 8).reduce((a, b) => a + b, 0)];
}
function meter() { return { t: now(), cpu: process.cpuUsage(), srv: srvCpuS(), host: hostTicks() }; }
function usage(a, b) {
  const wall = (b.t - a.t) / 1000;
  const lg = (b.cpu.user - a.cpu.user + b.cpu.system - a.cpu.system) / 1e6;
  const pct = (sec) => r1((100 * sec) / wall);
  return {
    wall_s: r3(wall), srv_cpu_s: r3(b.srv - a.srv), srv_cpu_pct: pct(b.srv - a.srv),
    lg_cpu_pct: pct(lg), idle_pct: pct((b.host[0] - a.host[0]) / 100), steal_pct: pct((b.host[1] - a.host[1]) / 100),
  };
}
function stats(arr, prefix) { // ms samples -> p0/p50/p99/max
  const o = {};
  o[`${prefix}_n`] = arr.length;
  if (!arr.length) return o;
  const a = Float64Array.from(arr).sort();
  const at = (p) => r1(a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))]);
  Object.assign(o, { [`${prefix}_min`]: r1(a[0]), [`${prefix}_p50`]: at(50), [`${prefix}_p99`]: at(99), [`${prefix}_max`]: r1(a[a.length - 1]) });
  return o;
}

// ---------------------------------------------------------------- minimal raw websocket client
const UPGRADE = `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:${opt.port}\r\n` +
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
let phase = 'connect'; // connect | hold | end
const ev = { pings: 0, ping_gaps: [], first_ping: [], closes_connect: 0, closes_hold: 0, closes_end: 0, close_pkts: 0, srv_close_frames: 0 };
let nextSrc = 0;
let onEvent = null; // (client) => void: a '42' event arrived (the broadcast phase)
class Client {
  constructor() { this.buf = null; this.upgraded = false; this.tOpen = 0; this.lastPing = 0; this.pingCount = 0; this.closed = false; }
  connect() {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.fail(new Error('connect timeout')); this.sock.destroy(); }, 10000);
      this.onConnected = () => { clearTimeout(timer); this.onConnected = null; resolve(this); };
      this.fail = (e) => { clearTimeout(timer); this.fail = () => {}; reject(e); };
      const o = { port: opt.port, host: opt.host };
      if (SRCS.length) o.localAddress = SRCS[nextSrc++ % SRCS.length];
      const sock = (this.sock = net.connect(o, () => sock.write(UPGRADE)));
      sock.setNoDelay(true);
      sock.on('data', (d) => this.onData(d));
      sock.on('error', (e) => { this.lastErr = e.code || e.message; this.fail(e); });
      sock.on('close', () => {
        if (!this.closed) { this.closed = true; ev[`closes_${phase}`]++; }
        this.fail(new Error(`closed (${this.lastErr || 'eof'})`));
      });
    });
  }
  onData(d) {
    let b = this.buf ? Buffer.concat([this.buf, d]) : d;
    if (!this.upgraded) {
      const he = b.indexOf('\r\n\r\n');
      if (he < 0) { this.buf = b; return; }
      if (b.toString('latin1', 9, 12) !== '101') { this.fail(new Error(`upgrade refused ${b.toString('latin1', 9, 12)}`)); return this.sock.destroy(); }
      this.upgraded = true;
      b = b.subarray(he + 4);
    }
    let i = 0;
    while (b.length - i >= 2) {
      const op = b[i] & 0x0f;
      let len = b[i + 1] & 0x7f, h = 2;
      if (len === 126) { if (b.length - i < 4) break; len = b.readUInt16BE(i + 2); h = 4; }
      else if (len === 127) { if (b.length - i < 10) break; len = Number(b.readBigUInt64BE(i + 2)); h = 10; }
      if (b.length - i < h + len) break;
      const p = b.subarray(i + h, i + h + len);
      i += h + len;
      if (op === 8) { ev.srv_close_frames++; this.sock.end(); continue; }
      if (op === 9) { this.frame(0x8a, Buffer.from(p)); continue; }
      if (op === 1 || op === 2) this.onMessage(p);
    }
    this.buf = i < b.length ? b.subarray(i) : null;
  }
  onMessage(p) {
    const t = p[0];
    if (t === 0x32 && p.length === 1) { // ping
      const ts = now();
      ev.pings++;
      if (this.lastPing) ev.ping_gaps.push(ts - this.lastPing);
      else ev.first_ping.push(ts - this.tOpen);
      this.lastPing = ts;
      this.pingCount++;
      this.send('3');
    } else if (t === 0x30) { this.tOpen = now(); this.send('40'); } // open -> CONNECT
    else if (t === 0x34 && p[1] === 0x30) this.onConnected && this.onConnected();
    else if (t === 0x34 && p[1] === 0x33 && this.onAck) this.onAck(p);
    else if (t === 0x34 && p[1] === 0x32 && onEvent) onEvent(this);
    else if (t === 0x31) ev.close_pkts++;
  }
  frame(first, payload) { // masked, all-zero key
    const len = payload.length; // short frames only
    const f = Buffer.allocUnsafe(6 + len);
    f[0] = first; f[1] = 0x80 | len; f.writeUInt32BE(0, 2); payload.copy(f, 6);
    if (!this.sock.destroyed) this.sock.write(f);
  }
  send(s) { this.frame(0x81, Buffer.from(s)); }
  close() {
    if (this.closed || this.sock.destroyed) return Promise.resolve();
    return new Promise((r) => { this.sock.once('close', r); this.closed = true; this.frame(0x88, Buffer.from([0x03, 0xe8])); });
  }
}

async function main() {
  const fds0 = srvFds();
  const rss0 = srvRssKiB();
  // ---- connect
  const clients = [];
  const lat = [];
  const errs = {};
  const progress = []; // seconds since the start when the 1000th, 2000th, ... client had connected
  let next = 0;
  const m0 = meter();
  async function worker() {
    while (next < opt.n) {
      next++;
      const c = new Client();
      const t0 = now();
      try {
        await c.connect();
        lat.push(now() - t0);
        clients.push(c);
        if (clients.length % 1000 === 0) progress.push(r3((now() - m0.t) / 1000));
      } catch (e) {
        const k = String(e.message || e).slice(0, 60); errs[k] = (errs[k] || 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(opt.conc, opt.n) }, worker));
  const m1 = meter();
  const uc = usage(m0, m1);
  Object.assign(result, {
    ok: clients.length, connect_errors: errs, connect_s: uc.wall_s, conn_per_s: r1(clients.length / uc.wall_s),
    srv_us_per_conn: r1((1e6 * uc.srv_cpu_s) / Math.max(1, clients.length)),
    connect_usage: uc, ...stats(lat, 'handshake_ms'), connect_progress_s: progress,
  });
  await sleep(opt.settle * 1000);
  const rss1 = srvRssKiB();
  const fds1 = srvFds();
  Object.assign(result, { srv_fds_before: fds0, srv_fds_connected: fds1, rss_before_kib: rss0, rss_connected_kib: rss1,
    kib_per_conn: r1((rss1 - rss0) / Math.max(1, clients.length)) });
  console.error(`connected ${clients.length}/${opt.n} in ${uc.wall_s}s, rss ${rss0} -> ${rss1} KiB, fds ${fds1}`);
  // ---- hold: count pings, measure CPU; loadgen event-loop lag (to tell our lateness from the server's)
  phase = 'hold';
  const pings0 = ev.pings;
  let lagMax = 0;
  const lags = [];
  let tick = now();
  const lagTimer = setInterval(() => { const t = now(); const l = t - tick - 100; lags.push(l); if (l > lagMax) lagMax = l; tick = t; }, 100);
  const slices = [];
  const h0 = meter();
  let prev = h0;
  const holdEnd = now() + opt.hold * 1000;
  while (now() < holdEnd) {
    await sleep(Math.min(5000, holdEnd - now()));
    const m = meter();
    slices.push(usage(prev, m).srv_cpu_pct);
    prev = m;
  }
  const h1 = meter();
  clearInterval(lagTimer);
  const rss2 = srvRssKiB();
  const uh = usage(h0, h1);
  const alive = clients.filter((c) => !c.closed);
  const pingsPer = {};
  for (const c of clients) pingsPer[c.pingCount] = (pingsPer[c.pingCount] || 0) + 1;
  const late = ev.ping_gaps.map((g) => g - opt.ping_ms);
  const lateFirst = ev.first_ping.map((g) => g - opt.ping_ms);
  Object.assign(result, {
    hold_usage: uh, srv_cpu_pct_slices_5s: slices, rss_hold_end_kib: rss2,
    pings_in_hold: ev.pings - pings0, pings_per_client: pingsPer,
    ...stats(late, 'ping_gap_late_ms'), ...stats(lateFirst, 'first_ping_late_ms'),
    ...stats(lags, 'lg_loop_lag_ms'),
    disconnects_connect_phase: ev.closes_connect, disconnects_hold: ev.closes_hold,
    engineio_close_pkts: ev.close_pkts, ws_close_frames_from_server: ev.srv_close_frames, alive_after_hold: alive.length,
  });
  console.error(`hold done: srv cpu ${uh.srv_cpu_pct}%, pings ${ev.pings}, disconnects ${ev.closes_hold}`);
  // ---- broadcast to all: one client asks, every client (itself too) gets one 'msg'
  const bcasts = [];
  for (let b = 0; b < opt.broadcasts && alive.length; b++) {
    const got = [];
    const sender = alive[(b * 7919) % alive.length];
    const m0b = meter();
    let t0 = 0;
    let ackMs = null;
    await Promise.race([
      new Promise((r) => {
        let left = alive.length + 1; // every delivery, and the ack
        const done = () => { if (--left === 0) r(); };
        onEvent = () => { got.push(now() - t0); done(); };
        sender.onAck = () => { ackMs = now() - t0; sender.onAck = null; done(); };
        t0 = now();
        sender.send(`42${9000 + b}["broadcast",1,"scale-broadcast"]`);
      }),
      sleep(30000),
    ]);
    onEvent = null;
    const ub = usage(m0b, meter());
    got.sort((x, y) => x - y);
    bcasts.push({ recipients: alive.length, delivered: got.length, ack_ms: ackMs === null ? null : r1(ackMs),
      first_ms: got.length ? r1(got[0]) : null, last_ms: got.length ? r1(got[got.length - 1]) : null,
      p50_ms: got.length ? r1(got[Math.floor(got.length * 0.5)]) : null,
      p99_ms: got.length ? r1(got[Math.min(got.length - 1, Math.floor(got.length * 0.99))]) : null,
      srv_cpu_s: ub.srv_cpu_s });
    console.error(`broadcast ${b + 1}: ${got.length}/${alive.length} delivered, last after ${bcasts[b].last_ms} ms`);
    await sleep(2000);
  }
  result.broadcasts = bcasts;
  // ---- liveness: one echo on --probe clients spread over the set
  phase = 'end';
  const probes = [];
  const step = Math.max(1, Math.floor(alive.length / Math.max(1, opt.probe)));
  for (let i = 0; i < alive.length && probes.length < opt.probe; i += step) probes.push(alive[i]);
  const ackLat = [];
  await Promise.race([
    Promise.all(probes.map((c) => new Promise((r) => {
      const t0 = now();
      c.onAck = () => { ackLat.push(now() - t0); r(); };
      c.send('421["echo","ping-probe"]');
    }))),
    sleep(10000),
  ]);
  Object.assign(result, { probe_sent: probes.length, probe_acked: ackLat.length, ...stats(ackLat, 'probe_ack_ms') });
  // ---- close
  const tc = now();
  await Promise.race([Promise.all(clients.map((c) => c.close())), sleep(20000)]);
  const closeS = (now() - tc) / 1000;
  for (const c of clients) if (!c.sock.destroyed) c.sock.destroy();
  await sleep(opt.settle * 1000);
  // the server may still be tearing down: wait (bounded) for its fds to drop
  for (let i = 0; i < 20 && srvFds() > fds0 + 50; i++) await sleep(500);
  Object.assign(result, { close_s: r3(closeS), rss_closed_kib: srvRssKiB(), srv_fds_closed: srvFds() });
  emit();
}
main().then(() => process.exit(0), (e) => { emit({ error: String((e && e.stack) || e) }); process.exit(1); });
