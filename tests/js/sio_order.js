// 200 numbered events sent at once are handled by the server in order.
//   node sio_order.js <port> <mode> <count>
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const count = Number(c.extra[0]);
  const out = c.seen;
  const s = await c.connect("/");
  out.id = s.id;
  for (let i = 0; i < count; i++) s.emit("seq", i);
  out.received = (await c.call(s, "seq_get"))[0];
  return out;
});
