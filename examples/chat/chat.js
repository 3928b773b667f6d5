// The page's script: io() from the official socket.io-client bundle, served at /socket.io.min.js.
// ?transport=websocket or ?transport=polling restricts the client to that transport.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const status = $("status");
  const messages = $("messages");

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  function add(parts, kind) {
    const li = document.createElement("li");
    if (kind) li.className = kind;
    for (const [text, cls] of parts) {
      const span = document.createElement("span");
      if (cls) span.className = cls;
      span.textContent = text;
      li.appendChild(span);
    }
    messages.appendChild(li);
    messages.scrollTop = messages.scrollHeight;
  }

  if (typeof window.io !== "function") {
    // The server answered 404 with what to do: show it.
    setStatus("the Socket.IO client is missing", "error");
    const missing = $("missing");
    missing.style.display = "block";
    missing.textContent = "The Socket.IO client bundle did not load.";
    fetch("/socket.io.min.js")
      .then((r) => r.text())
      .then((text) => { missing.textContent = text; })
      .catch(() => {});
    for (const el of document.querySelectorAll("input, button")) el.disabled = true;
    return;
  }

  const wanted = new URLSearchParams(location.search).get("transport");
  const options = {};
  if (wanted === "websocket" || wanted === "polling") options.transports = [wanted];
  const socket = io(options);
  window.socket = socket; // for the console (and the tests)
  let name = null;

  function transportName() {
    return socket.io.engine ? socket.io.engine.transport.name : "?";
  }

  function enterChat(joined) {
    name = joined;
    $("message").disabled = false;
    $("send").disabled = false;
    $("message").placeholder = "message";
    $("join").textContent = "Rename";
    document.body.dataset.joined = name;
    $("message").focus();
  }

  socket.on("connect", () => {
    setStatus(`connected over ${transportName()}`, "connected");
    socket.io.engine.once("upgrade", () => setStatus(`connected over ${transportName()}`, "connected"));
    if (name) socket.emit("join", name, () => {}); // back after a reconnection
  });
  socket.on("disconnect", (reason) => setStatus(`disconnected (${reason}); reconnecting…`));
  socket.on("connect_error", (err) => setStatus(`cannot connect: ${err.message}`, "error"));

  socket.on("joined", (m) => add([[`${m.name} joined`]], "notice"));
  socket.on("left", (m) => add([[`${m.name} left`]], "notice"));
  socket.on("said", (m) => add([[m.name, "name"], [": "], [m.text, "text"]], "message"));

  $("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const wantedName = $("name").value.trim();
    if (!wantedName) return;
    socket.emit("join", wantedName, (answer) => {
      if (answer && answer.ok) enterChat(answer.name);
      else add([[`cannot join: ${(answer && answer.error) || "no answer"}`]], "notice");
    });
  });

  $("say-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("message").value;
    if (!text.trim()) return;
    socket.emit("say", text, (answer) => {
      if (answer && answer.ok) $("message").value = "";
      else add([[`not sent: ${(answer && answer.error) || "no answer"}`]], "notice");
    });
  });
})();
