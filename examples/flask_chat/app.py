"""A chat page and Socket.IO on one port, with Flask and ``gsio.flask.init_app``.

Run it from this directory (http://127.0.0.1:5000/), on any of these servers::

    flask --app app run                  # werkzeug's threaded server: gsio in threading mode
    gsio serve app:app --port 5000       # gevent's server (gsio serve monkey-patches first)
    gunicorn -k gevent -w 1 -b 127.0.0.1:5000 app:app

Pick a name: it goes in the Flask session, and the Socket.IO ``connect`` handler reads it from
there (the handshake carries the session cookie), so only logged-in pages can chat.

The page loads socket.io-client's browser bundle from ``/client/socket.io.min.js``, which this
app serves from an npm-installed ``socket.io-client``: the ``dist`` directory named by the
``GSIO_CLIENT_DIST`` environment variable, or else
``../../tests/js/node_modules/socket.io-client/dist`` (``npm ci --prefix tests/js`` at the top
of the repository). gsio itself does not serve the bundle.
"""

import os
from pathlib import Path

from flask import Flask, abort, redirect, request, send_from_directory, session
from markupsafe import escape

import gsio
from gsio.flask import init_app

HERE = Path(__file__).resolve().parent
CLIENT_DIST = Path(
    os.environ.get("GSIO_CLIENT_DIST")
    or HERE.parent.parent / "tests" / "js" / "node_modules" / "socket.io-client" / "dist"
)

app = Flask(__name__)
app.secret_key = os.environ.get("SECRET_KEY", "dev only: set SECRET_KEY in production")
sio = gsio.Server()
init_app(app, sio)


@app.get("/")
def index():
    if "name" not in session:
        return LOGIN_PAGE
    return CHAT_PAGE.replace("{name}", escape(session["name"]))


@app.post("/login")
def login():
    name = request.form.get("name", "").strip()[:40]
    if name:
        session["name"] = name
    return redirect("/")


@app.get("/client/socket.io.min.js")
def client_bundle():
    if not (CLIENT_DIST / "socket.io.min.js").is_file():
        abort(404, f"no socket.io.min.js in {CLIENT_DIST}: set GSIO_CLIENT_DIST")
    return send_from_directory(CLIENT_DIST, "socket.io.min.js")


@sio.on("connect")
def connect(conn, auth):
    name = session.get("name")  # Flask's session, from the handshake's cookie
    if not name:
        raise gsio.ConnectionRefused("log in first")
    conn.data["name"] = name
    conn.join("lobby")
    conn.emit("welcome", {"name": name, "mode": sio.concurrency.name})
    conn.to("lobby").emit("joined", name)


@sio.on("say")
def say(conn, text):
    sio.to("lobby").emit("said", {"name": conn.data["name"], "text": text})
    return "ok"


@sio.on("echo")
def echo(conn, *args):
    return args


@sio.on("disconnect")
def disconnect(conn, reason):
    sio.to("lobby").emit("left", conn.data.get("name"))


LOGIN_PAGE = """<!doctype html>
<title>gsio Flask chat</title>
<h1>gsio Flask chat</h1>
<form method="post" action="/login">
  <label>Your name <input name="name" autofocus required></label> <button>Enter</button>
</form>
"""

CHAT_PAGE = """<!doctype html>
<title>gsio Flask chat</title>
<h1>gsio Flask chat: {name}</h1>
<ul id="log"></ul>
<form id="say"><input id="text" autocomplete="off" autofocus> <button>Say</button></form>
<script src="/client/socket.io.min.js"></script>
<script>
  const log = (line) => {
    const li = document.createElement("li");
    li.textContent = line;
    document.getElementById("log").append(li);
  };
  const socket = io();  // same origin: the cookie (Flask's session) goes with the handshake
  socket.on("welcome", (w) => log(`welcome, ${w.name} (server in ${w.mode} mode)`));
  socket.on("joined", (name) => log(`${name} joined`));
  socket.on("left", (name) => log(`${name} left`));
  socket.on("said", (m) => log(`${m.name}: ${m.text}`));
  socket.on("connect_error", (err) => log(`cannot connect: ${err.message}`));
  document.getElementById("say").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("text");
    if (input.value) socket.emit("say", input.value);
    input.value = "";
  });
</script>
"""

if __name__ == "__main__":
    app.run(threaded=True)
