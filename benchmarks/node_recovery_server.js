// Node's socket.io with connectionStateRecovery on, implementing the shared bench's server
// contract (../shared/bench/README.md): the reference for gsio's contract_server.py --recovery.
// Usage: NODE_PATH=$HOME/.cache/gsio-bench/node_modules node node_recovery_server.js PORT
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || process.env.PORT || 3000);
const httpServer = http.createServer();
const io = new Server(httpServer, {
  path: "/socket.io/",
  pingInterval: 25000,
  pingTimeout: 20000,
  transports: ["polling", "websocket"],
  connectionStateRecovery: { maxDisconnectionDuration: 120000, skipMiddlewares: true },
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
