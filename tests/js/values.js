// The values of the tests' JSON specs as Node's side of a cluster has them: {"$bin": hex} is a
// Buffer, {"$date": ms} a Date, {"$undefined": 1} undefined, {"$number": "NaN" | "Infinity" |
// "-Infinity"} a number JSON has no text for; everything else as it is, recursively.
"use strict";

function js(value) {
  if (Array.isArray(value)) return value.map(js);
  if (value && typeof value === "object") {
    if (typeof value.$bin === "string") return Buffer.from(value.$bin, "hex");
    if ("$date" in value) return new Date(value.$date);
    if ("$undefined" in value) return undefined;
    if ("$number" in value) return Number(value.$number);
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = js(v);
    return out;
  }
  return value;
}

module.exports = { js };
