// What the headless-Chromium scripts (browser_*.js) share: launching the system's Chromium
// (/usr/bin/chromium) through playwright-core, which downloads no browser.
"use strict";

const { chromium } = require("playwright-core");

const EXECUTABLE = "/usr/bin/chromium";
// The network is closed: without the background-networking flags, Chromium's own requests
// (component updates, sync...) are refused and its connections can stall.
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function launch() {
  return chromium.launch({ executablePath: EXECUTABLE, headless: true, args: ARGS });
}

module.exports = { EXECUTABLE, launch };
