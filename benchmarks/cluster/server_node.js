// Node's socket.io with @socket.io/redis-adapter (or, with "streams", the Redis Streams adapter)
// for the cross-process benchmark (same events as server_gsio.py).
//   node server_node.js PORT REDIS_URL [pubsub|streams]
"use strict";

const { Server } = require("socket.io");
const { createClient } = require("redis");

async function main() {
  const [port, url, kind] = [Number(process.argv[2]), process.argv[3], process.argv[4] || "pubsub"];
  const pub = createClient({ url });
  let adapter;
  if (kind === "streams") {
    await pub.connect();
    adapter = require("@socket.io/redis-streams-adapter").createAdapter(pub);
  } else {
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    adapter = require("@socket.io/redis-adapter").createAdapter(pub, sub);
  }
  const io = new Server({ adapter });
  io.on("connection", (socket) => {
    socket.on("broadcast", (count, payload, ack) => {
      for (let i = 0; i < count; i++) io.emit("msg", payload);
      ack(count);
    });
    socket.on("join", (room, ack) => {
      socket.join(room);
      ack(room);
    });
    socket.on("to_room", (room, seq) => {
      io.to(room).emit("lat", seq);
    });
  });
  io.listen(port);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
