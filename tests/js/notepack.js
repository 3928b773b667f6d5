// What Node's side of a cluster makes of values: notepack.io (the msgpack of
// @socket.io/redis-adapter and -emitter) and JSON.stringify, for gsio's wire-format tests.
//
//   node notepack.js < spec.json
//
// where the spec is {"encode": {NAME: VALUE}, "json": {NAME: VALUE}, "decode": {NAME: HEX}};
// it prints {"encode": {NAME: hex of notepack.encode}, "json": {NAME: JSON.stringify},
// "decode": {NAME: what a client would get: JSON.stringify of notepack.decode, binaries as
// {"$bin": hex}; or {"error": message}}}. In VALUEs, {"$bin": hex} is a Buffer, {"$date": ms}
// a Date, {"$undefined": 1} undefined, {"$number": "NaN" | "Infinity" | "-Infinity"} a number.
"use strict";

const notepack = require("notepack.io");

const { js } = require("./values");

function pic(value) {
  if (Buffer.isBuffer(value) || value instanceof ArrayBuffer) {
    return { $bin: Buffer.from(value).toString("hex") };
  }
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map(pic);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = pic(v);
    return out;
  }
  return value;
}

const spec = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = { encode: {}, json: {}, decode: {} };
for (const [name, value] of Object.entries(spec.encode || {})) {
  out.encode[name] = notepack.encode(js(value)).toString("hex");
}
for (const [name, value] of Object.entries(spec.json || {})) {
  out.json[name] = JSON.stringify(js(value));
}
for (const [name, hex] of Object.entries(spec.decode || {})) {
  try {
    out.decode[name] = JSON.parse(JSON.stringify(pic(notepack.decode(Buffer.from(hex, "hex")))));
  } catch (err) {
    out.decode[name] = { error: String(err.message) };
  }
}
console.log(JSON.stringify(out));
