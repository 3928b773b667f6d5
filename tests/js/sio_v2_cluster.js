// A room spread over two servers of a cluster, holding socket.io-client 2.x and 4.x clients on
// each: one broadcast (binary included) reaches all four.
//   node sio_v2_cluster.js <port of server a> <port of server b> <room>
"use strict";

const ioV2 = require("socket.io-client-v2");
const { io: ioV4 } = require("socket.io-client");

const [portA, portB, room] = process.argv.slice(2);
// sio_common reads its mode from argv[3]: it is given the one this script's clients do not use.
process.argv.splice(2, process.argv.length, portA, "default");
const c = require("./sio_common");
const opts = { forceNew: true, reconnection: false };
const clients = {
  v2a: ioV2(`http://127.0.0.1:${portA}`, { ...opts, transports: ["websocket"] }),
  v2b: ioV2(`http://127.0.0.1:${portB}`, { ...opts, transports: ["polling"] }),
  v4a: ioV4(`http://127.0.0.1:${portA}`, { ...opts, transports: ["polling"] }),
  v4b: ioV4(`http://127.0.0.1:${portB}`, { ...opts, transports: ["websocket"] }),
};

c.run(async () => {
  const got = {};
  c.seen.got = got;
  for (const [name, socket] of Object.entries(clients)) {
    c.seen.step = `${name} connects`;
    if (!socket.connected) await c.once(socket, "connect");
    c.seen.step = `${name} joins`;
    socket.on("news", (...args) => (got[name] = args));
    await c.call(socket, "join", room);
  }
  c.seen.step = "broadcast";
  await c.call(clients.v4b, "to_room", room, "news", "x", Buffer.from([1, 2]));
  await c.waitUntil(() => Object.keys(got).length === 4, "the broadcast on both servers");
  for (const socket of Object.values(clients)) socket.close();
  return got;
});
