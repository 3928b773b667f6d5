// Prints the version of the socket.io-client build that sio_common.js loads (GSIO_SIO_CLIENT).
"use strict";

const name = process.env.GSIO_SIO_CLIENT || "socket.io-client";
console.log(JSON.stringify({ version: require(`${name}/package.json`).version }));
