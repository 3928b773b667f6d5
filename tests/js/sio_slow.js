// A handler that sleeps for one client stalls neither another client nor the heartbeats.
//   node sio_slow.js <port> <mode> <seconds>
// Client A asks "slow" (the handler sleeps <seconds>) then "echo"; meanwhile client B runs five
// echoes one after the other. Reports the order in which the answers came and the pings each
// client received while A's handler slept.
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const seconds = Number(c.extra[0]);
  const out = c.seen;
  const [a, b] = await Promise.all([c.connect("/"), c.connect("/")]);
  const pings = { a: 0, b: 0 };
  let sleeping = false;
  a.io.on("ping", () => sleeping && pings.a++);
  b.io.on("ping", () => sleeping && pings.b++);
  const order = [];
  sleeping = true;
  const slow = c.call(a, "slow", seconds).then((ack) => {
    sleeping = false;
    order.push(`a:${ack[0]}`);
  });
  const after = c.call(a, "echo", "a after slow").then((ack) => order.push(`a:${ack[0]}`));
  for (let i = 0; i < 5; i++) {
    const ack = await c.call(b, "echo", `b${i}`);
    order.push(`b:${ack[0]}`);
  }
  await Promise.all([slow, after]);
  out.order = order;
  out.pings = pings;
  out.connected = [a.connected, b.connected];
  return out;
}, 30000);
