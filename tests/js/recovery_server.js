// The Node twin of tests/servers/recovery_app.py's default namespace: npm socket.io with
// connectionStateRecovery, the same events, so that one client script runs against both.
//
//   node recovery_server.js [--max-duration SECONDS]
//
// Listens on a free 127.0.0.1 port and prints "READY <port>".
"use strict";

const http = require("http");
const { Server } = require("socket.io");

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const LOG = { connects: [], disconnects: [], middleware: 0 };

const httpServer = http.createServer((req, res) => {
  if (req.url === "/log") {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(LOG));
    return;
  }
  res.writeHead(404);
  res.end("not found");
});
const io = new Server(httpServer, {
  connectionStateRecovery: {
    maxDisconnectionDuration: parseFloat(arg("max-duration", "120")) * 1000,
    skipMiddlewares: true,
  },
});

io.use((socket, next) => {
  LOG.middleware += 1;
  next();
});

io.on("connection", (socket) => {
  LOG.connects.push({ id: socket.id, namespace: "/", recovered: socket.recovered });
  socket.on("disconnect", (reason) => LOG.disconnects.push({ id: socket.id, namespace: "/", reason }));
  socket.on("join", (room, ack) => {
    socket.join(room);
    ack([...socket.rooms].sort());
  });
  socket.on("stream", (n, room, gapMs, ack) => {
    ack("started");
    let i = 0;
    const timer = setInterval(() => {
      if (i >= n) return clearInterval(timer);
      socket.emit("d", i);
      io.to(room).emit("r", i);
      i += 1;
    }, gapMs);
  });
  socket.on("whoami", (ack) => ack({ id: socket.id, recovered: socket.recovered, data: socket.data }));
  socket.on("set", (key, value, ack) => {
    socket.data[key] = value;
    ack(true);
  });
  socket.on("kick", () => socket.disconnect());
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(`READY ${httpServer.address().port}`);
});
