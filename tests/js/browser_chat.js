// Two people chat in headless Chromium, on the page of examples/chat (served by gsio):
//
//   node browser_chat.js <url> <mode> [screenshot-prefix]
//
// <mode>: "websocket" or "polling" (the page's ?transport=, which sets io()'s transports),
// "default" (no ?transport=: polling, then the upgrade to WebSocket), or "missing" (the server
// has no client bundle: read what the page says instead). Alice and Bob each get a browser
// context of their own; Alice says something, Bob sees it, Bob answers, Alice sees it.
// Prints ONE JSON line: what the pages showed. On an error or past the deadline it prints
// {"error": ..., "seen": ...} and exits non-zero. With a screenshot prefix, each page is saved
// as <prefix>-alice.png and <prefix>-bob.png at the end.
//
// playwright-core drives the system's Chromium (/usr/bin/chromium); it downloads no browser.
"use strict";

const { launch } = require("./browser_common");

const STEP_TIMEOUT = 10000;
const DEADLINE = 45000; // under run_node's timeout, so Chromium is closed by us, not killed

const [url, mode = "websocket", shots = ""] = process.argv.slice(2);
const seen = { mode, errors: [] };
let browser = null;

function pageUrl() {
  if (mode === "websocket" || mode === "polling") return `${url}/?transport=${mode}`;
  if (mode === "default" || mode === "missing") return `${url}/`;
  throw new Error(`unknown mode ${mode}`);
}

async function openPage(who) {
  const context = await browser.newContext({ viewport: { width: 720, height: 520 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("pageerror", (err) => seen.errors.push(`${who}: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") seen.errors.push(`${who} console: ${msg.text()}`);
  });
  await page.goto(pageUrl());
  return page;
}

async function join(page, name) {
  await page.fill("#name", name);
  await page.click("#join");
  await page.waitForSelector(`body[data-joined="${name}"]`);
}

async function say(page, text) {
  await page.fill("#message", text);
  await page.press("#message", "Enter");
}

function waitForMessage(page, name, text) {
  return page.waitForFunction(
    ([n, t]) =>
      [...document.querySelectorAll("#messages li.message")].some(
        (li) => li.querySelector(".name").textContent === n && li.querySelector(".text").textContent === t,
      ),
    [name, text],
  );
}

const lines = (page) => page.$$eval("#messages li", (lis) => lis.map((li) => li.textContent));
const transport = (page) => page.evaluate(() => window.socket.io.engine.transport.name);
const statusText = (page) => page.textContent("#status");

async function screenshots(pages) {
  if (!shots) return;
  for (const [who, page] of Object.entries(pages)) {
    await page.screenshot({ path: `${shots}-${who}.png` });
  }
}

async function chat() {
  const [alice, bob] = await Promise.all([openPage("alice"), openPage("bob")]);
  await Promise.all([alice, bob].map((page) => page.waitForSelector("#status.connected")));
  await join(alice, "alice"); // then Bob: Alice's list shows him joining
  await join(bob, "bob");
  // Alice saw Bob join: both are in the room before anyone speaks.
  await alice.waitForFunction(() => document.querySelector("#messages").textContent.includes("bob joined"));
  if (mode === "default") {
    // The client's default: it connects over polling, then upgrades to WebSocket.
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => window.socket.io.engine.transport.name === "websocket");
    }
  }
  seen.step = "alice says";
  await say(alice, "hello from alice");
  await waitForMessage(bob, "alice", "hello from alice");
  seen.step = "bob answers";
  await say(bob, "hi alice, bob here");
  await waitForMessage(alice, "bob", "hi alice, bob here");
  seen.step = "done";
  const out = {
    mode,
    browser: browser.version(),
    transports: { alice: await transport(alice), bob: await transport(bob) },
    status: { alice: await statusText(alice), bob: await statusText(bob) },
    messages: { alice: await lines(alice), bob: await lines(bob) },
    errors: seen.errors,
  };
  await screenshots({ alice, bob });
  return out;
}

async function missing() {
  const page = await openPage("page");
  const box = await page.waitForSelector("#missing:has-text('npm ci')");
  const out = {
    mode,
    missing: await box.textContent(),
    status: await statusText(page),
    disabled: await page.$$eval("input, button", (els) => els.every((el) => el.disabled)),
    errors: seen.errors, // the 404 of /socket.io.min.js is among them
  };
  await screenshots({ missing: page });
  return out;
}

async function main() {
  browser = await launch();
  return mode === "missing" ? missing() : chat();
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
