// Pages that take the Socket.IO client from gsio itself (/socket.io/socket.io.min.js), in
// headless Chromium:
//
//   node browser_bundle.js page <url>   the page at <url> connects and awaits window.result
//   node browser_bundle.js demo <url>   `gsio demo`'s page in two tabs: each shows its
//                                       transport and the upgrade; what one says, both show
//
// Prints ONE JSON line: what the pages showed (or {"error": ..., "seen": ...} and exits
// non-zero). playwright-core drives the system's Chromium (/usr/bin/chromium).
"use strict";

const { launch } = require("./browser_common");

const STEP_TIMEOUT = 10000;
const DEADLINE = 45000; // under run_node's timeout, so Chromium is closed by us, not killed

const [mode, url] = process.argv.slice(2);
const seen = { mode, errors: [], scripts: [] };
let browser = null;

async function openPage(who) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("pageerror", (err) => seen.errors.push(`${who}: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") seen.errors.push(`${who} console: ${msg.text()}`);
  });
  page.on("response", (response) => {
    if (response.url().endsWith(".js")) {
      seen.scripts.push([new URL(response.url()).pathname, response.status()]);
    }
  });
  await page.goto(url);
  return page;
}

async function onePage() {
  const page = await openPage("page");
  const result = await page.evaluate(() => window.result);
  return { result, scripts: seen.scripts, errors: seen.errors };
}

const log = (page) => page.$$eval("#log li", (lis) => lis.map((li) => li.textContent));

async function demo() {
  const [a, b] = await Promise.all([openPage("a"), openPage("b")]);
  seen.step = "upgrade";
  for (const page of [a, b]) {
    await page.waitForFunction(() => document.querySelector("#transport").textContent === "websocket");
    await page.waitForFunction(() => document.querySelector("#log").textContent.includes("upgraded to websocket"));
  }
  seen.step = "a says";
  const ids = { a: await a.evaluate(() => window.gsioDemo.id), b: await b.evaluate(() => window.gsioDemo.id) };
  await a.fill("#text", "hello from a");
  await a.press("#text", "Enter");
  await b.waitForFunction((id) => document.querySelector("#log").textContent.includes(`${id}: hello from a`), ids.a);
  await a.waitForFunction(() => document.querySelector("#log").textContent.includes("me: hello from a"));
  seen.step = "done";
  return {
    ids,
    status: { a: await a.textContent("#status"), b: await b.textContent("#status") },
    transport: { a: await a.textContent("#transport"), b: await b.textContent("#transport") },
    log: { a: await log(a), b: await log(b) },
    scripts: seen.scripts,
    errors: seen.errors,
  };
}

async function main() {
  browser = await launch();
  if (mode === "page") return onePage();
  if (mode === "demo") return demo();
  throw new Error(`unknown mode ${mode}`);
}

function finish(result, code) {
  console.log(JSON.stringify(result));
  process.exitCode = code;
  const closing = browser ? browser.close().catch(() => {}) : Promise.resolve();
  closing.then(() => process.exit(code));
  setTimeout(() => process.exit(code), 5000).unref();
}

const timer = setTimeout(() => finish({ error: `deadline of ${DEADLINE} ms`, seen }, 2), DEADLINE);
main()
  .then((out) => {
    clearTimeout(timer);
    finish(out, 0);
  })
  .catch((err) => {
    clearTimeout(timer);
    finish({ error: String((err && err.stack) || err), seen }, 1);
  });
