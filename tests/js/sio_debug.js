// Drives tests/servers/debug_app.py for tests/test_debug_output.py (what DEBUG=gsio* prints):
// one client through the upgrade (in "default" mode), a long event each way, binary, a room
// joined and left with a broadcast to it, an ack the server waits for, two refused namespaces,
// and a namespace disconnect. Prints the ids the log lines carry.
"use strict";

const { run, connect, call, once, refused, mode, waitUpgrade } = require("./sio_common");

run(async () => {
  const a = await connect("/");
  if (mode === "default") await waitUpgrade(a);
  const long = "x".repeat(1000);
  const direct = once(a, "direct");
  await call(a, "direct", long);
  await direct;
  await call(a, "echo", Buffer.from([1, 2, 3, 4, 5]), { deep: [[[1]]] });
  await call(a, "join", "r1");
  const shouted = once(a, "shouted");
  await call(a, "shout", "r1", "hi");
  await shouted;
  await call(a, "leave", "r1");
  a.on("question2", (...args) => args[args.length - 1]("yes"));
  await call(a, "ask", 5, "question2");
  const invalid = await refused("/nope");
  const private_ = await refused("/private");
  const ids = { a: a.id, eio: a.io.engine.id };
  a.disconnect();
  return { ids, invalid, private: private_ };
});
