// The Flask contexts in a gsio handler (tests/servers/flask_app.py), seen by one client.
//   node deploy_flask.js <port> <mode> <headers JSON>
// Connects with the headers (a Cookie among them: extraHeaders works in Node for polling and
// WebSocket), records the "ctx" event the connect handler emits, asks "whoami" (again after the
// upgrade in the default mode), and prints {ctx, whoami: [...], transport}.
"use strict";

const c = require("./sio_common");

c.run(async () => {
  const out = c.seen;
  const extraHeaders = JSON.parse(c.extra[0] || "{}");
  const s = c.client("/", { extraHeaders });
  const ctx = c.once(s, "ctx");
  await c.once(s, "connect");
  out.ctx = (await ctx)[0];
  out.whoami = [(await c.call(s, "whoami"))[0]];
  if (c.mode === "default") {
    await c.waitUpgrade(s);
    out.whoami.push((await c.call(s, "whoami"))[0]);
  }
  out.transport = c.transportName(s);
  return out;
});
