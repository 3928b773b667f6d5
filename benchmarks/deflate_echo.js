// Echo round trips per second over one WebSocket with ws (socket.io's own client library),
// per-message deflate offered or not: a closed loop of `42<id>["echo",payload]` -> `43<id>`.
//   node deflate_echo.js <port> <payload bytes> <seconds> <deflate: 1|0>
// Prints one JSON line: {extensions, acks, perSecond, wireOut, wireIn}.
"use strict";

const path = require("path");
const WebSocket = require(path.join(__dirname, "..", "tests", "js", "node_modules", "ws"));

const [port, size, seconds, deflate] = process.argv.slice(2).map(Number);
const payload = JSON.stringify("a lorem ipsum text ".repeat(Math.ceil(size / 19)).slice(0, size));
const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, {
  perMessageDeflate: deflate ? { threshold: 1024 } : false,
});
let id = 0;
let acks = 0;
let started = 0;
const send = () => ws.send(`42${++id}["echo",${payload}]`);
ws.on("message", (data) => {
  const text = data.toString();
  if (text.startsWith("0")) return ws.send("40");
  if (text === "2") return ws.send("3");
  if (text.startsWith("40")) {
    started = Date.now();
    setTimeout(() => {
      const s = (Date.now() - started) / 1000;
      console.log(
        JSON.stringify({
          extensions: Object.keys(ws._extensions || {}).join(","),
          acks,
          perSecond: Math.round(acks / s),
          wireOut: Math.round(ws._socket.bytesWritten / acks),
          wireIn: Math.round(ws._socket.bytesRead / acks),
        }),
      );
      process.exit(0);
    }, seconds * 1000);
    return send();
  }
  if (text.startsWith("43")) {
    acks++;
    send();
  }
});
