// Drives tests/servers/blocking_app.py:  node sio_blocking.js <port> <mode> <scenario>
"use strict";
const { run, seen, client, extra } = require("./sio_common");

const scenario = extra[0];

run(async () => {
  const socket = client("/");
  await new Promise((resolve, reject) => {
    socket.on("connect", resolve);
    socket.on("connect_error", reject);
  });
  const result = { scenario };
  if (scenario === "threads") {
    const ticks = [];
    socket.on("tick", (i) => ticks.push(i));
    const done = new Promise((resolve) => socket.on("ticks_done", resolve));
    result.started = await socket.emitWithAck("threads", 500);
    result.done = await done;
    result.ticks_in_order = ticks.every((v, i) => v === i);
    result.ticks = ticks.length;
  } else if (scenario === "wait") {
    result.timeout = await socket.emitWithAck("wait", 0.3);
    const pending = socket.emitWithAck("wait", 5);
    setTimeout(() => socket.emit("poke", 1, (r) => (seen.poke_ack = r)), 200);
    result.got = await pending;
    result.poke_ack = seen.poke_ack;
  } else if (scenario === "call_unanswered") {
    socket.on("never", () => {}); // receives it, never acknowledges
    result.error = await socket.emitWithAck("call_unanswered");
  } else if (scenario === "call_while_busy") {
    socket.on("question", (n, callback) => {
      for (let i = 0; i < 5; i++) socket.emit("noise", i);
      setTimeout(() => callback(n + 1), 100);
      setTimeout(() => socket.emit("noise_done"), 150);
    });
    result.reply = await socket.emitWithAck("call_while_busy");
  } else if (scenario === "bye") {
    const disconnected = new Promise((resolve) => socket.on("disconnect", resolve));
    result.reply = await socket.emitWithAck("bye");
    result.reason = await disconnected;
  }
  return result;
});
