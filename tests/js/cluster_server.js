// The Node twin of tests/servers/cluster_app.py: npm socket.io with @socket.io/redis-adapter,
// the same events, so that a cluster test can mix gsio and Node servers on one redis-server.
//
//   node cluster_server.js --redis redis://127.0.0.1:PORT/0 --name NAME [--requests-timeout S]
//     [--specific-responses]  (the adapter's publishOnSpecificResponseChannel)
//     [--streams]  (@socket.io/redis-streams-adapter instead) [--recovery]  (connectionStateRecovery)
//
// Listens on a free 127.0.0.1 port and prints "READY <port>".
"use strict";

const http = require("http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const streams = require("@socket.io/redis-streams-adapter");
const { createClient } = require("redis");

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const NAME = arg("name", "node");
const LOG = { server_side: [] };
const sortJSON = (values) =>
  values.slice().sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

// The adapter publishes without handling the promise: if Redis goes away while a PUBLISH waits
// for its reply, node-redis rejects it and, unhandled, that would end the process (Node >= 15).
// A production server would set this too; here it lets the Redis fault tests keep n1 running.
process.on("unhandledRejection", (err) => {
  console.error(`unhandled rejection: ${err && err.message}`);
});

async function main() {
  const pub = createClient({ url: arg("redis") });
  const sub = pub.duplicate();
  pub.on("error", () => {});
  sub.on("error", () => {});
  await Promise.all([pub.connect(), sub.connect()]);

  const httpServer = http.createServer((req, res) => {
    if (req.url === "/log") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(LOG));
      return;
    }
    res.writeHead(404);
    res.end("not found");
  });
  const requestsTimeout = Math.round(parseFloat(arg("requests-timeout", "5")) * 1000);
  const adapter = process.argv.includes("--streams")
    ? streams.createAdapter(pub)
    : createAdapter(pub, sub, {
        requestsTimeout,
        publishOnSpecificResponseChannel: process.argv.includes("--specific-responses"),
      });
  const recovery = process.argv.includes("--recovery")
    ? { connectionStateRecovery: { maxDisconnectionDuration: 60000, skipMiddlewares: true } }
    : {};
  const io = new Server(httpServer, { adapter, pingInterval: 5000, ...recovery });

  for (const name of ["/", "/chat"]) {
    const nsp = io.of(name);
    nsp.on("hello", (...args) => {
      const callback = typeof args[args.length - 1] === "function" ? args.pop() : null;
      LOG.server_side.push([name, ...args]);
      if (callback) callback(`hello from ${NAME}`);
    });
    nsp.on("connection", (socket) => {
      socket.data = { server: NAME };
      const own = () => [...socket.rooms].filter((r) => r !== socket.id).sort();
      const fetched = (room) => (room ? nsp.in(room).fetchSockets() : nsp.fetchSockets());
      socket.on("whoami", (ack) => ack({ server: NAME, id: socket.id }));
      socket.on("join", (...args) => {
        const ack = args.pop();
        socket.join(args);
        ack(own());
      });
      socket.on("leave", (room, ack) => {
        socket.leave(room);
        ack(own());
      });
      socket.on("to_room", (room, event, ...rest) => {
        const ack = rest.pop();
        nsp.to(room).emit(event, ...rest);
        ack(true);
      });
      socket.on("to_rooms", (rooms, event, ...rest) => {
        const ack = rest.pop();
        nsp.to(rooms).emit(event, ...rest);
        ack(true);
      });
      socket.on("to_all", (event, ...rest) => {
        const ack = rest.pop();
        nsp.emit(event, ...rest);
        ack(true);
      });
      socket.on("to_local", (event, ...rest) => {
        const ack = rest.pop();
        nsp.local.emit(event, ...rest);
        ack(true);
      });
      socket.on("except_room", (room, except, event, ...rest) => {
        const ack = rest.pop();
        (room ? nsp.to(room) : nsp).except(except).emit(event, ...rest);
        ack(true);
      });
      socket.on("fetch", async (...args) => {
        const ack = args.pop();
        try {
          const sockets = await fetched(args[0]);
          ack(
            sockets
              .map((s) => ({ id: s.id, rooms: [...s.rooms].sort(), data: s.data, auth: s.handshake.auth }))
              .sort((a, b) => (a.id < b.id ? -1 : 1)),
          );
        } catch (err) {
          ack({ error: String(err.message) });
        }
      });
      socket.on("remote", async (room, action, ...rest) => {
        const ack = rest.pop();
        for (const s of await fetched(room)) s[action](...rest);
        ack(true);
      });
      socket.on("sockets_join", (room, added, ack) => {
        nsp.in(room).socketsJoin(added);
        ack(true);
      });
      socket.on("sockets_leave", (room, old, ack) => {
        nsp.in(room).socketsLeave(old);
        ack(true);
      });
      socket.on("disconnect_sockets", (room, ack) => {
        nsp.in(room).disconnectSockets();
        ack(true);
      });
      socket.on("ask_all", async (room, timeout, ack) => {
        try {
          const responses = await nsp.timeout(timeout * 1000).to(room).emitWithAck("poll", room);
          ack({ responses: sortJSON(responses) });
        } catch (err) {
          ack({ timeout: true, responses: sortJSON(err.responses || []) });
        }
      });
      socket.on("server_emit", (event, ...rest) => {
        const ack = rest.pop();
        nsp.serverSideEmit(event, ...rest);
        ack(true);
      });
      socket.on("server_call", async (event, ...rest) => {
        const ack = rest.pop();
        try {
          ack(sortJSON(await nsp.serverSideEmitWithAck(event, ...rest)));
        } catch (err) {
          ack({ error: String(err.message), responses: sortJSON(err.responses || []) });
        }
      });
    });
  }

  httpServer.listen(0, "127.0.0.1", () => {
    console.log(`READY ${httpServer.address().port}`);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
