// The chat of examples/cluster/server.py in Node's socket.io, a server of the same cluster:
//   node examples/cluster/server.js 5003 [redis://127.0.0.1:6379/0]
// (socket.io and its Redis adapter come from examples/package.json: npm ci --prefix examples)
"use strict";

const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

async function main() {
  const [port = "5003", url = "redis://127.0.0.1:6379/0"] = process.argv.slice(2);
  const pub = createClient({ url });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const io = new Server({ adapter: createAdapter(pub, sub) });
  io.use((socket, next) => {
    const name = socket.handshake.auth.name;
    if (!name) return next(Object.assign(new Error("a name is required"), { data: {} }));
    socket.data.name = name;
    next();
  });
  io.on("connection", (socket) => {
    socket.on("join", (room, ack) => {
      socket.join(room);
      socket.to(room).emit("joined", { room, name: socket.data.name });
      ack([...socket.rooms].filter((r) => r !== socket.id).sort());
    });
    socket.on("say", (room, text) => io.to(room).emit("said", { room, name: socket.data.name, text }));
    socket.on("who", async (room, ack) =>
      ack((await io.in(room).fetchSockets()).map((s) => s.data.name || "?").sort()),
    );
  });
  io.listen(Number(port));
  console.log(`chat server (Node) on http://127.0.0.1:${port}, cluster on ${url}`);
}

main();
