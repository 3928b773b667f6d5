// How a connection is served (tests/servers/deploy_handlers.py's "info" event).
//   node deploy_info.js <port> <mode>
// In the default mode it waits for the upgrade first. Prints {info, transport}.
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const s = await c.connect("/");
  if (c.mode === "default") await c.waitUpgrade(s);
  const [info] = await c.call(s, "info");
  return { info, transport: c.transportName(s) };
});
