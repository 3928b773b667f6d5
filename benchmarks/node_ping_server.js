// Node's socket.io implementing the shared bench's server contract (../shared/bench/README.md,
// as its servers/node_socketio.js), with the heartbeat from the environment: PING_INTERVAL and
// PING_TIMEOUT in ms (25000 and 20000 by default). The reference for benchmarks/heartbeats.py.
// Usage: NODE_PATH=$HOME/.cache/gsio-bench/node_modules node node_ping_server.js PORT
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || process.env.PORT || 3000);
const httpServer = http.createServer();
const io = new Server(httpServer, {
  path: "/socket.io/",
  pingInterval: Number(process.env.PING_INTERVAL || 25000),
  pingTimeout: Number(process.env.PING_TIMEOUT || 20000),
  transports: ["polling", "websocket"],
});

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("broadcast", (count, payload, ack) => {
    for (let i = 0; i < count; i++) io.emit("msg", payload);
    if (typeof ack === "function") ack(count);
  });
});

httpServer.listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
