// Vectors of the npm socket.io-msgpack-parser for tests/protocol/test_socketio_msgpack.py:
//
//   node msgpack_vectors.js <cases.json>
//
// cases.json: {"encode": [<value>...], "decode": ["<hex>"...]}. Prints ONE JSON line:
// {"encoded": ["<hex>"...], "decoded": [{"packet": <value>} | {"error": "<message>"}...]}:
// the parser's Encoder output for each value, and what its Decoder makes of each message (the
// packet's "data" as "<deep>" past 64 levels, which JSON.parse in Python could not take).
// Values are JSON with tags for what JSON lacks: {"$bin": "<hex>"} a Buffer, {"$ab": "<hex>"}
// an ArrayBuffer, {"$date": <ms>} a Date, {"$undefined": true} undefined.
"use strict";

const fs = require("fs");
const parser = require("socket.io-msgpack-parser");

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === "object") {
    if ("$bin" in value) return Buffer.from(value.$bin, "hex");
    if ("$ab" in value) {
      const b = Buffer.from(value.$ab, "hex");
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
    }
    if ("$date" in value) return new Date(value.$date);
    if ("$undefined" in value) return undefined;
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = revive(v);
    return out;
  }
  return value;
}

function tag(value, depth = 0) {
  if (depth > 64) return "<deep>";
  if (value === undefined) return { $undefined: true };
  if (Buffer.isBuffer(value)) return { $bin: value.toString("hex") };
  if (value instanceof ArrayBuffer) return { $ab: Buffer.from(value).toString("hex") };
  if (value instanceof Date) return { $date: value.getTime() };
  if (Array.isArray(value)) return value.map((v) => tag(v, depth + 1));
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = tag(v, depth + 1);
    return out;
  }
  if (typeof value === "number" && !Number.isFinite(value)) return { $number: String(value) };
  return value;
}

const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const encoder = new parser.Encoder();
const encoded = cases.encode.map((value) => {
  const parts = encoder.encode(revive(value));
  if (parts.length !== 1) throw new Error(`${parts.length} parts`);
  return Buffer.from(parts[0]).toString("hex");
});
const decoded = cases.decode.map((hex) => {
  const decoder = new parser.Decoder();
  let packet;
  decoder.on("decoded", (p) => {
    packet = p;
  });
  try {
    decoder.add(Buffer.from(hex, "hex"));
  } catch (err) {
    return { error: String(err.message) };
  }
  return { packet: tag(packet) };
});
console.log(JSON.stringify({ encoded, decoded }));
