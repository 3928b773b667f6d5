// Drives tests/servers/blocking_app.py:  node sio_blocking.js <port> <mode> <scenario>
"use strict";
const { run, seen, client, call, extra } = require("./sio_common");

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
  } else if (scenario === "nap") {
    // Events that arrive while the handler sleeps wait for it, in order, and do not wake it.
    const reply = socket.emitWithAck("nap", 0.3);
    for (let i = 0; i < 20; i++) socket.emit("burst", i);
    socket.emit("burst_done");
    result.reply = await reply;
  } else if (scenario === "crowd") {
    // Many connections' events handed over in the same turns of the server's loop: each
    // connection gets its own acks, in order.
    const others = [];
    for (let c = 0; c < 20; c++) others.push(client("/"));
    await Promise.all(others.map((s) => (s.connected ? null : new Promise((r) => s.on("connect", r)))));
    const all = [socket, ...others];
    const acks = await Promise.all(
      all.map((s, c) => Promise.all(Array.from({ length: 30 }, (_, i) => call(s, "echo", c, i)))),
    );
    result.right = acks.every((list, c) => list.every((ack, i) => ack[0] === c && ack[1] === i));
    result.acks = acks.reduce((n, list) => n + list.length, 0);
  } else if (scenario === "gone_while_parked") {
    // The handler waits in its loop (parked) when the client leaves.
    result.echo = await socket.emitWithAck("echo", "hi");
    socket.disconnect();
  } else if (scenario === "gone_while_busy") {
    // The client leaves while its events wait behind a sleeping handler: they come first.
    result.echo = await socket.emitWithAck("echo", "hi");
    socket.emit("nap_quietly", 0.3);
    for (let i = 0; i < 5; i++) socket.emit("note", i);
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.disconnect();
  } else if (scenario === "bye") {
    const disconnected = new Promise((resolve) => socket.on("disconnect", resolve));
    result.reply = await socket.emitWithAck("bye");
    result.reason = await disconnected;
  }
  return result;
});
