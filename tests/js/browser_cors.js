// A page of another origin connects to gsio in headless Chromium with credentials and an extra
// header: the browser sends a CORS preflight (OPTIONS) first, and connects only if its answer
// is one Chromium takes (each Access-Control-* header once).
//
//   node browser_cors.js <gsio-url> <mode>
//
// <mode>: "polling" or "default" (polling, then the upgrade to WebSocket). The page and the
// socket.io-client bundle of node_modules are served by a server of this script's own, at
// http://localhost:<its port>: another origin than gsio's, in the same (loopback) address
// space, so that Chromium's private network checks stay out of it.
// Prints ONE JSON line: {"connected", "transport", "echo", "errors"}; on an error or past the
// deadline {"error": ..., "seen": ...} and a non-zero exit.
"use strict";

const fs = require("fs");
const http = require("http");
const path = require("path");
const { launch } = require("./browser_common");

const BUNDLE = path.join(__dirname, "node_modules", "socket.io-client", "dist", "socket.io.min.js");
const DEADLINE = 30000;

const [url, mode] = process.argv.slice(2);
const seen = { mode, errors: [] };
let browser = null;

const PAGE = `<!doctype html><html><body><script src="/socket.io.min.js"></script><script>
window.result = new Promise((resolve) => {
  const socket = io(${JSON.stringify(url)}, {
    transports: ${JSON.stringify(mode === "polling" ? ["polling"] : ["polling", "websocket"])},
    withCredentials: true,
    extraHeaders: { "x-token": "abc" },
    reconnection: false,
  });
  socket.on("connect_error", (err) => resolve({ connected: false, error: String(err) }));
  socket.on("connect", () => {
    const finish = () => socket.emit("echo", "hello", (...echo) => {
      resolve({ connected: true, transport: socket.io.engine.transport.name, echo });
      socket.disconnect();
    });
    if (${JSON.stringify(mode)} === "default" && socket.io.engine.transport.name !== "websocket") {
      socket.io.engine.once("upgrade", finish);
    } else {
      finish();
    }
  });
});
</script></body></html>`;

let pageServer = null;

function servePage() {
  pageServer = http.createServer((req, res) => {
    if (req.url === "/socket.io.min.js") {
      res.writeHead(200, { "Content-Type": "text/javascript" });
      res.end(fs.readFileSync(BUNDLE));
    } else {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end(PAGE);
    }
  });
  return new Promise((resolve) => {
    pageServer.listen(0, "127.0.0.1", () => resolve(pageServer.address().port));
  });
}

async function main() {
  browser = await launch();
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (err) => seen.errors.push(err.message));
  page.on("console", (msg) => {
    if (msg.type() === "error") seen.errors.push(`console: ${msg.text()}`);
  });
  await page.goto(`http://localhost:${await servePage()}/page.html`);
  const result = await page.evaluate(() => window.result);
  return { ...result, errors: seen.errors };
}

const timer = setTimeout(async () => {
  console.log(JSON.stringify({ error: "deadline", seen }));
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}, DEADLINE);

main()
  .then(async (out) => {
    clearTimeout(timer);
    await browser.close();
    pageServer.close();
    console.log(JSON.stringify(out));
  })
  .catch(async (err) => {
    clearTimeout(timer);
    console.log(JSON.stringify({ error: String(err && err.stack ? err.stack : err), seen }));
    if (browser) await browser.close().catch(() => {});
    process.exit(1);
  });
