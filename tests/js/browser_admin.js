// The official Socket.IO Admin UI (@socket.io/admin-ui's ui/dist, served by the test) in
// headless Chromium, against a gsio server instrumented with basic auth:
//
//   node browser_admin.js <ui-url> <server-url> <ids-json> <screenshot-prefix>
//
// <ids-json>: {"sockets": [ids of "/"], "room": a room one of them joined, "victim": the id
// to disconnect from the UI}. Logs in through the UI's connection form (admin / s3cret), opens
// the sockets page (every id listed), the rooms page (the room listed), disconnects the victim
// from the sockets page and waits for its row to go. Prints ONE JSON line: what the pages
// showed; saves <prefix>-sockets.png, <prefix>-rooms.png and <prefix>-after.png.
"use strict";

const { launch } = require("./browser_common");

const STEP_TIMEOUT = 15000;
const DEADLINE = 60000;

const [uiUrl, serverUrl, idsJson, shots] = process.argv.slice(2);
const ids = JSON.parse(idsJson);
const seen = { errors: [] };
let browser = null;

function bodyHas(page, texts) {
  return page.waitForFunction((t) => t.every((x) => document.body.innerText.includes(x)), texts);
}

async function main() {
  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // The UI's fonts and icons come from CDNs: the network is closed, refuse them at once.
  await context.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.abort());
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("pageerror", (err) => seen.errors.push(err.message));
  await page.goto(`${uiUrl}/#/`, { waitUntil: "domcontentloaded" });

  // The connection form opens, as nothing is stored yet.
  await page.getByLabel("Server URL").fill(serverUrl);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("wrong");
  await page.getByRole("button", { name: "Connect" }).click();
  await bodyHas(page, ["Invalid credentials"]).catch(() => bodyHas(page, ["invalid credentials"]));
  seen.refused = true;
  await page.getByLabel("Password").fill("s3cret");
  await page.getByRole("button", { name: "Connect" }).click();
  await page.waitForFunction(() => localStorage.getItem("session_id"));
  seen.sessionId = await page.evaluate(() => localStorage.getItem("session_id"));
  await page.getByLabel("Password").waitFor({ state: "hidden" }); // the form is gone

  await page.evaluate(() => (location.hash = "#/sockets/"));
  await bodyHas(page, ids.sockets);
  seen.socketsPage = await page.evaluate(() => document.body.innerText);
  await page.screenshot({ path: `${shots}-sockets.png`, fullPage: true });

  await page.evaluate(() => (location.hash = "#/rooms/"));
  await bodyHas(page, [ids.room]);
  seen.roomsPage = await page.evaluate(() => document.body.innerText);
  await page.screenshot({ path: `${shots}-rooms.png`, fullPage: true });

  await page.evaluate(() => (location.hash = "#/sockets/"));
  await bodyHas(page, ids.sockets);
  const row = page.locator("tr", { hasText: ids.victim });
  await row.locator("button.v-btn").last().click();
  // (the click reaches the row too, which opens the socket's page: back to the list)
  await page.evaluate(() => (location.hash = "#/sockets/"));
  await bodyHas(page, ids.sockets.filter((id) => id !== ids.victim));
  await page.waitForFunction((id) => !document.body.innerText.includes(id), ids.victim);
  seen.after = await page.evaluate(() => document.body.innerText);
  await page.screenshot({ path: `${shots}-after.png`, fullPage: true });
  return seen;
}

async function finish(result, code) {
  console.log(JSON.stringify(result));
  if (browser) await browser.close().catch(() => {});
  process.exit(code);
}

const timer = setTimeout(() => finish({ error: "deadline", seen }, 2), DEADLINE);
main()
  .then((result) => {
    clearTimeout(timer);
    return finish(result, 0);
  })
  .catch((err) => {
    clearTimeout(timer);
    return finish({ error: String((err && err.stack) || err), seen }, 1);
  });
