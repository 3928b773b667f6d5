// Files emitted by the server (file-like objects read by gsio), byte-equal, and a file over
// max_payload that is never sent (the connection goes on).
//   node sio_files.js <port> <mode> <room>
// The server is tests/servers/files_app.py, serving the files the test wrote: big.bin,
// small.bin, toolarge.bin. Each binary received is told as {len, sha256}.
"use strict";

const crypto = require("crypto");
const c = require("./sio_common");

function digest(value) {
  let buf = value;
  if (value instanceof ArrayBuffer) buf = Buffer.from(value);
  else if (ArrayBuffer.isView(value) && !Buffer.isBuffer(value)) {
    buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (!Buffer.isBuffer(buf)) return { notBinary: c.pic(value) };
  return { len: buf.length, sha256: crypto.createHash("sha256").update(buf).digest("hex") };
}

// The first argument of the next ``event`` received after ``from`` events were recorded.
function argOf(events, from, event) {
  const found = events.slice(from).find((e) => e[0] === event);
  return found ? found[1] : undefined;
}

c.run(async () => {
  const out = c.seen;
  const room = c.extra[0];
  const s = await c.connect("/");
  const events = c.record(s);
  s.on("take", (f, ack) => ack(digest(f)));
  const other = await c.connect("/");
  const otherEvents = c.record(other);
  await c.call(other, "join", room);

  async function scenario(event, name, ...more) {
    const from = events.length;
    const [ack] = await c.call(s, event, name, ...more);
    return { ack, from };
  }

  let r = await scenario("file", "big.bin");
  out.file = { ack: r.ack, got: digest(argOf(events, r.from, "file")) };
  r = await scenario("nested", "small.bin");
  const nested = argOf(events, r.from, "nested");
  out.nested = { ack: r.ack, meta: nested.meta, got: digest(nested.parts[0]), x: nested.parts[1] };
  r = await scenario("pipe", "big.bin");
  out.pipe = { ack: r.ack, got: digest(argOf(events, r.from, "pipe")) };
  r = await scenario("stream", "big.bin");
  out.stream = { ack: r.ack, got: digest(argOf(events, r.from, "stream")) };
  r = await scenario("call", "small.bin");
  out.call = { ack: r.ack };
  const [fetched] = await c.call(s, "fetch", "big.bin");
  out.fetch = digest(fetched);
  const otherFrom = otherEvents.length;
  r = await scenario("room", "big.bin", room);
  await c.waitUntil(() => argOf(otherEvents, otherFrom, "file") !== undefined, "the broadcast");
  out.room = {
    ack: r.ack,
    sender: digest(argOf(events, r.from, "file")),
    other: digest(argOf(otherEvents, otherFrom, "file")),
  };

  // Over max_payload: the emit raises, nothing is sent, and what follows arrives.
  out.tooLarge = {};
  for (const event of ["file", "pipe", "stream"]) {
    const from = events.length;
    const [ack] = await c.call(s, event, "toolarge.bin");
    const after = c.once(s, "after");
    s.emit("after", `after ${event}`);
    const [text] = await after;
    out.tooLarge[event] = { ack, after: text, received: events.slice(from).map((e) => e[0]) };
  }
  out.transport = c.transportName(s);
  return out;
});
