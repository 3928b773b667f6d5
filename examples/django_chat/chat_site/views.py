"""The page, and the client bundle it loads."""

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse


def index(request):
    return HttpResponse(PAGE)


def client_bundle(request):
    bundle = settings.GSIO_CLIENT_DIST / "socket.io.min.js"
    if not bundle.is_file():
        raise Http404(f"no socket.io.min.js in {settings.GSIO_CLIENT_DIST}: set GSIO_CLIENT_DIST")
    return FileResponse(bundle.open("rb"), content_type="text/javascript")


PAGE = """<!doctype html>
<title>gsio Django chat</title>
<h1>gsio Django chat</h1>
<form id="join"><label>Your name <input id="name" required autofocus></label>
  <button>Enter</button></form>
<ul id="log"></ul>
<form id="say" hidden><input id="text" autocomplete="off"> <button>Say</button></form>
<script src="/client/socket.io.min.js"></script>
<script>
  const log = (line) => {
    const li = document.createElement("li");
    li.textContent = line;
    document.getElementById("log").append(li);
  };
  let socket;
  document.getElementById("join").addEventListener("submit", (event) => {
    event.preventDefault();
    socket = io({ auth: { name: document.getElementById("name").value } });
    socket.on("welcome", (w) => log(`welcome, ${w.name} (server in ${w.mode} mode)`));
    socket.on("joined", (name) => log(`${name} joined`));
    socket.on("left", (name) => log(`${name} left`));
    socket.on("said", (m) => log(`${m.name}: ${m.text}`));
    socket.on("connect_error", (err) => log(`cannot connect: ${err.message}`));
    document.getElementById("join").hidden = true;
    document.getElementById("say").hidden = false;
  });
  document.getElementById("say").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("text");
    if (input.value) socket.emit("say", input.value);
    input.value = "";
  });
</script>
"""
