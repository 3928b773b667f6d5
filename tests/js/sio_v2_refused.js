// socket.io-client 2.5 against a server WITHOUT allow_eio3: its handshake is refused (400,
// {"code":5,"message":"Unsupported protocol version"}), seen as a connect_error.
//   node sio_v2_refused.js <port>
"use strict";

const c = require("./sio_common");
const ioV2 = require("socket.io-client-v2");

function refused(transports) {
  const socket = ioV2(c.url, { transports, forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => reject(new Error(`${transports} connected`)));
    socket.once("connect_error", (err) => {
      socket.close();
      const description = typeof err.description === "number" ? err.description : null;
      resolve({ message: err.message, description });
    });
  });
}

c.run(async () => ({
  polling: await refused(["polling"]),
  websocket: await refused(["websocket"]),
}));
