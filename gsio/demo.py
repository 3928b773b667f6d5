"""``gsio demo``: a live page served by gsio itself, a chat between browser tabs that shows
the transport in use and the upgrade, with the official client bundle gsio serves
(``/socket.io/socket.io.min.js``, fetched into the per-user cache on the first run).

Events: ``echo`` acks with its arguments; ``chat(text)`` is sent to everyone as
``chat {"from": <socket id>, "text": text}``.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from gsio.engine.wsgi import WSGIApp
from gsio.io.bundle import ENV_DIST, cache_dir, find_dist
from gsio.io.npm import fetch
from gsio.protocol.bundle import CLIENT_VERSION, BundleError
from gsio.server.conn import Conn
from gsio.server.server import Server

__all__ = ["demo_app", "ensure_client_bundle", "PAGE"]

PAGE = b"""<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gsio demo</title>
<link rel="icon" href="data:,">
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 40em; margin: 2em auto; padding: 0 1em; }
  #log { list-style: none; padding: 0; min-height: 8em; border: 1px solid #ccc; padding: .5em; }
  #log .info { color: #666; font-style: italic; }
  form { display: flex; gap: .5em; margin-top: .5em; } input { flex: 1; }
  #hint { background: #fee; padding: .5em; white-space: pre-wrap; }
</style>
<h1>gsio demo</h1>
<p>Status: <b id="status">connecting&hellip;</b> &middot; transport: <b id="transport">-</b></p>
<p id="hint" hidden></p>
<ul id="log"></ul>
<form id="form"><input id="text" autocomplete="off" placeholder="Say something" disabled>
<button id="send" disabled>Send</button></form>
<p>Open this page in a second tab or browser: what one says, every tab shows.
The client starts on HTTP long-polling and upgrades to WebSocket when it can.</p>
<script src="/socket.io/socket.io.min.js"></script>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function log(text, info) {
  const li = document.createElement("li");
  li.textContent = text;
  if (info) li.className = "info";
  $("log").appendChild(li);
}
if (typeof io === "undefined") {
  $("status").textContent = "the Socket.IO client is missing";
  fetch("/socket.io/socket.io.min.js").then((r) => r.text()).then((t) => {
    $("hint").textContent = t;
    $("hint").hidden = false;
  });
} else {
  const socket = io();
  const transport = () => { $("transport").textContent = socket.io.engine.transport.name; };
  socket.io.on("open", () => {
    // The Engine.IO connection: over long-polling first, then the upgrade if WebSocket works.
    transport();
    log("connected over " + socket.io.engine.transport.name, true);
    socket.io.engine.on("upgrade", (t) => { transport(); log("upgraded to " + t.name, true); });
  });
  socket.on("connect", () => {
    $("status").textContent = "connected as " + socket.id;
    $("text").disabled = $("send").disabled = false;
  });
  socket.on("disconnect", (reason) => {
    $("status").textContent = "disconnected (" + reason + ")";
    $("text").disabled = $("send").disabled = true;
    log("disconnected: " + reason, true);
  });
  socket.on("chat", (m) => log((m.from === socket.id ? "me" : m.from) + ": " + m.text));
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (text) socket.emit("chat", text);
    $("text").value = "";
  });
  window.gsioDemo = socket;
}
</script>
</html>
"""


def ensure_client_bundle(say: Callable[[str], Any] = print) -> None:
    """Fetch the client bundle into the per-user cache when no bundle is found (and no
    directory is named by ``GSIO_CLIENT_DIST``), saying so in one line; if that fails, one
    line says why (the page then shows how to get it)."""
    if os.environ.get(ENV_DIST) or find_dist()[0] is not None:
        return
    target = cache_dir()
    say(f"fetching socket.io-client {CLIENT_VERSION} from the npm registry into {target} (once)")
    try:
        fetch(target)
    except BundleError as exc:
        say(f"could not fetch socket.io-client: {exc}; the demo page will say how to get it")


def demo_app() -> WSGIApp:
    """The demo: a :class:`gsio.Server` with ``echo`` and ``chat``, and the page at ``/``."""
    sio = Server()

    @sio.on("echo")
    def echo(conn: Conn, *args: Any) -> tuple[Any, ...]:
        return args

    @sio.on("chat")
    def chat(conn: Conn, text: Any) -> None:
        sio.emit("chat", {"from": conn.id, "text": str(text)[:2000]})

    def page(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO", "/") not in ("/", "/index.html"):
            body = b"Not Found"
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [body]
        start_response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(PAGE)))],
        )
        return [PAGE]

    return WSGIApp(sio, page)
