// Node's @socket.io/redis-emitter, driven from a test: runs a list of operations, in order, on
// one Redis connection, then quits (once everything is published).
//
//   node emitter.js redis://127.0.0.1:PORT/0 < ops.json
//
// Each operation: {"op": "emit" | "socketsJoin" | "socketsLeave" | "disconnectSockets" |
// "serverSideEmit", "args": [...], "nsp": "/chat", "to": [rooms], "except": [rooms],
// "volatile": true} (all but "op" optional). In args, {"$bin": hex} is a Buffer, {"$date": ms}
// a Date, {"$undefined": 1} undefined, {"$number": "NaN"} a number JSON has no text for.
"use strict";

const { createClient } = require("redis");
const { Emitter } = require("@socket.io/redis-emitter");

const { js } = require("./values");

async function main() {
  const ops = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const client = createClient({ url: process.argv[2] });
  await client.connect();
  const emitter = new Emitter(client);
  for (const op of ops) {
    let target = op.nsp ? emitter.of(op.nsp) : emitter;
    if (op.op === "serverSideEmit") {
      target.serverSideEmit(...js(op.args || []));
      continue;
    }
    if (op.to) target = target.to(op.to);
    if (op.except) target = target.except(op.except);
    if (op.volatile) target = target.volatile;
    target[op.op](...js(op.args || []));
  }
  await client.quit(); // after every queued PUBLISH
  console.log(JSON.stringify({ done: ops.length }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
