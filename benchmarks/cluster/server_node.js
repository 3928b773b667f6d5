// Node's socket.io with @socket.io/redis-adapter for the cross-process benchmark (same event as
// server_gsio.py).   node server_node.js PORT REDIS_URL
"use strict";

const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

async function main() {
  const [port, url] = [Number(process.argv[2]), process.argv[3]];
  const pub = createClient({ url });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const io = new Server({ adapter: createAdapter(pub, sub) });
  io.on("connection", (socket) => {
    socket.on("broadcast", (count, payload, ack) => {
      for (let i = 0; i < count; i++) io.emit("msg", payload);
      ack(count);
    });
  });
  io.listen(port);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
