"""gsio's Engine.IO v3 codec against the reference itself: the v3 parser and the JSONP transport of
Node's engine.io 6 (tests/js/node_modules/engine.io/build/parser-v3/index.js,
build/transports/polling-jsonp.js), run in one Node process over a few hundred seeded cases.

Compared byte for byte: text and binary payloads (both ``supports_binary``), WebSocket frames,
JSONP answers; and what Node decodes from gsio's encoding, and from the same JSONP ``d=`` bodies.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from gsio.exceptions import ProtocolError
from gsio.protocol.engineio import Packet, PacketType
from gsio.protocol.engineio_v3 import BINARY_CONTENT_TYPE, encode_frame, encode_payload
from gsio.protocol.jsonp import decode_jsonp_body, encode_jsonp

JS = Path(__file__).resolve().parent.parent / "js"
ENGINE_IO = JS / "node_modules" / "engine.io" / "build"
NAMES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"]

SCRIPT = r"""
const [build, casesFile] = process.argv.slice(2);
const parser = require(build + "/parser-v3/index.js");
const { JSONP } = require(build + "/transports/polling-jsonp.js");
const cases = JSON.parse(require("fs").readFileSync(casesFile, "utf8"));
const toNode = (p) => (p.bin !== undefined ? { type: p.type, data: Buffer.from(p.bin, "hex") }
  : p.data === "" ? { type: p.type } : { type: p.type, data: p.data });
const fromNode = (p) => (Buffer.isBuffer(p.data) ? { type: p.type, bin: p.data.toString("hex") }
  : { type: p.type, data: p.data === undefined ? "" : p.data });
const show = (x) => (typeof x === "string" ? { text: x } : { hex: Buffer.from(x).toString("hex") });
const decode = (body) => {
  const out = [];
  parser.decodePayload(body, (p) => { out.push(fromNode(p)); });
  return out;
};
const jsonp = (j) => {
  const t = new JSONP({ _query: { j, EIO: "3", b64: "1" }, headers: {} });
  t.req = { headers: {}, cleanup() {} };
  const got = { packets: [] };
  t.res = { writeHead() {}, end(d) { got.body = d; } };
  t.on("packet", (p) => got.packets.push(fromNode(p)));
  return [t, got];
};
const results = cases.map((c) => {
  const packets = c.packets.map(toNode);
  const r = {};
  parser.encodePayload(packets, true, (out) => { r.binary = show(out); });
  parser.encodePayload(packets, false, (out) => { r.text = show(out); });
  r.frames = packets.map((p) => {
    const f = {};
    parser.encodePacket(p, true, (o) => { f.binary = show(o); });
    parser.encodePacket(p, false, (o) => { f.text = show(o); });
    return f;
  });
  r.decodedText = decode(c.ours.text);
  r.decodedBinary = c.ours.binary === null ? null : decode(Buffer.from(c.ours.binary, "hex"));
  const [t, got] = jsonp(c.j);
  t.writable = true;
  t.send(packets.slice());
  r.jsonp = got.body;
  const [t2, got2] = jsonp(c.j);
  t2.onData(c.form);
  r.formPackets = got2.packets;
  return r;
});
console.log(JSON.stringify(results));
"""

ALPHABET = list('aé€😀\n\\n:"\u2028\u2029\x01b4 +%')


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 12)))


def random_packets(rng: random.Random) -> list[Packet]:
    packets = []
    for _ in range(rng.randrange(0, 5)):
        kind = rng.randrange(6)
        if kind == 0:
            packets.append(Packet(PacketType.MESSAGE, rng.randbytes(rng.randrange(0, 12))))
        elif kind == 1:
            packets.append(Packet(PacketType(rng.randrange(7))))
        else:
            packets.append(Packet(PacketType.MESSAGE, random_text(rng)))
    return packets


def as_json(packet: Packet) -> dict:
    if isinstance(packet.data, bytes):
        return {"type": NAMES[packet.type], "bin": packet.data.hex()}
    return {"type": NAMES[packet.type], "data": packet.data}


def from_json(packet: dict) -> Packet:
    data = bytes.fromhex(packet["bin"]) if "bin" in packet else packet["data"]
    return Packet(PacketType(NAMES.index(packet["type"])), data)


def shown(data: str | bytes) -> dict:
    return {"hex": data.hex()} if isinstance(data, bytes) else {"text": data}


def form_body(rng: random.Random) -> bytes:
    """A JSONP POST body as engine.io-client 3.x makes one (newlines escaped, then
    form-encoded), and sometimes not quite."""
    payload = random_text(rng)
    payload = f"{len(payload.encode('utf-16-le')) // 2 + 1}:4{payload}"
    escaped = payload.replace("\\n", "\\\\n").replace("\n", "\\n")  # polling-jsonp.js, client
    roll = rng.random()
    if roll < 0.2:
        escaped = payload  # raw newlines and backslashes
    elif roll < 0.3:
        escaped = escaped[1:]  # a wrong length
    elif roll < 0.35:
        escaped = ""
    body = "d=" + quote_plus(escaped)
    roll = rng.random()
    if roll < 0.05:
        body += "&d=2:40"  # two fields d: Node ignores the body
    elif roll < 0.1:
        body = "x=1&" + body.replace("d=", "%64=")  # the key escaped
    elif roll < 0.15:
        body = "x=1"
    return body.encode()


def test_gsio_matches_the_reference_v3_parser(tmp_path):
    if not ENGINE_IO.is_dir():
        pytest.fail(f"{ENGINE_IO} is missing: npm ci --prefix tests/js", pytrace=False)
    rng = random.Random(18)
    cases = []
    for i in range(300):
        packets = random_packets(rng)
        text_body, _ = encode_payload(packets, supports_binary=False)
        binary_body, content_type = encode_payload(packets, supports_binary=True)
        binary = binary_body.hex() if content_type == BINARY_CONTENT_TYPE else None
        cases.append(
            {
                "packets": [as_json(p) for p in packets],
                "ours": {"text": text_body.decode(), "binary": binary},
                "j": str(i),
                "form": form_body(rng).decode(),
            }
        )
    (tmp_path / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    (tmp_path / "check.js").write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run(
        ["node", str(tmp_path / "check.js"), str(ENGINE_IO), str(tmp_path / "cases.json")],
        capture_output=True,
        timeout=60,
        check=True,
    )
    results = json.loads(done.stdout)
    assert len(results) == len(cases)
    outcomes = {"error": 0, "packets": 0, "none": 0}
    for case, result in zip(cases, results):
        packets = [from_json(p) for p in case["packets"]]
        # Node's text payload is a string, which it writes as UTF-8; its binary one is bytes.
        for supports_binary, node in ((True, result["binary"]), (False, result["text"])):
            body, _ = encode_payload(packets, supports_binary=supports_binary)
            assert body == (bytes.fromhex(node["hex"]) if "hex" in node else node["text"].encode())
        for packet, frames in zip(packets, result["frames"]):
            assert shown(encode_frame(packet, supports_binary=True)) == frames["binary"]
            assert shown(encode_frame(packet, supports_binary=False)) == frames["text"]
        # An empty data decodes as no data in Node: as_json() writes both as "".
        assert result["decodedText"] == case["packets"]
        if result["decodedBinary"] is not None:
            assert result["decodedBinary"] == case["packets"]
        assert encode_jsonp(packets, case["j"])[0] == result["jsonp"].encode()
        try:
            ours = [as_json(p) for p in decode_jsonp_body(case["form"].encode())]
        except ProtocolError:
            ours = [{"type": "error", "data": "parser error"}]
        theirs = result["formPackets"]
        if theirs and theirs[-1]["type"] == "error":
            # Node hands out the packets before the error, gsio none: the session closes.
            assert ours == [{"type": "error", "data": "parser error"}]
            outcomes["error"] += 1
        else:
            assert ours == theirs
            outcomes["packets" if ours else "none"] += 1
    # The seeded cases reach both outcomes (the form bodies are not all broken or all fine).
    assert min(outcomes.values()) > 10 and outcomes["packets"] > 100, outcomes
