// Drives tests/servers/observe_app.py: two clients, events in both directions, a room
// broadcast, binary, an ack that never comes and one that does, and /blocking; prints what
// the clients saw and their ids.
"use strict";

const { run, connect, call, once, mode, waitUpgrade, transportName, seen } = require("./sio_common");

run(async () => {
  const a = await connect("/");
  const b = await connect("/");
  if (mode === "default") {
    await waitUpgrade(a);
    await waitUpgrade(b);
  }
  seen.transports = [transportName(a), transportName(b)];
  const echoed = await call(a, "echo", 1, "x", Buffer.from([1, 2, 3]));
  await call(a, "join", "r1");
  await call(b, "join", "r1");
  const shoutedA = once(a, "shouted");
  const shoutedB = once(b, "shouted");
  await call(b, "shout", "r1", "hi");
  await Promise.all([shoutedA, shoutedB]);
  await call(b, "leave", "r1");
  const direct = once(a, "direct");
  await call(a, "direct", "me");
  await direct;
  // "question" is never answered: the server's callback gets AckTimeout.
  a.on("question", () => {});
  const unanswered = await call(a, "ask", 0.3, "question");
  // "question2" is answered at once.
  a.on("question2", (...args) => args[args.length - 1]("yes", 2));
  const answered = await call(a, "ask", 5, "question2");
  const blocking = await connect("/blocking");
  await call(blocking, "ping", 7);
  const report = await call(blocking, "report");
  const ids = { a: a.id, b: b.id, blocking: blocking.id, eioA: a.io.engine.id, eioB: b.io.engine.id,
    eioBlocking: blocking.io.engine.id };
  a.disconnect();
  await call(b, "echo", "last");
  return { ids, echoed, unanswered, answered, report, transports: seen.transports };
});
