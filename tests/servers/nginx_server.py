"""A real nginx (the Debian package) in front of several servers, for the multi-worker tests.

``Nginx(backends, balance)`` writes a configuration into a temporary directory and runs nginx
in the foreground, as the current user, on a free loopback port. ``balance`` is the upstream's
balancing directive: ``"hash $remote_addr consistent"`` (sticky by client address; Debian's
``ip_hash`` keys on the first three octets, so every 127.0.0.x client would land on one backend)
or ``""`` for round robin. ``connections``: nginx's ``worker_connections`` (each proxied
request takes two: the client's and the backend's).
"""

import shutil
import tempfile
import time
from pathlib import Path

from process import CapturedProcess, request
from redis_server import free_port

CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile {files};
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream gsio {{
        {balance}
        {servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://gsio;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, backends, balance="hash $remote_addr consistent", connections=1024):
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
        self.dir = tempfile.mkdtemp(prefix="gsio-nginx-")
        self.port = free_port()
        servers = "\n        ".join(f"server 127.0.0.1:{port};" for port in backends)
        balance = f"{balance};" if balance else ""
        config = Path(self.dir) / "nginx.conf"
        config.write_text(CONFIG.format(
                dir=self.dir,
                port=self.port,
                balance=balance,
                servers=servers,
                connections=connections,
                files=2 * connections + 64,
            ))
        self.process = CapturedProcess([binary, "-c", str(config), "-p", self.dir], self.dir)
        deadline = time.monotonic() + 10
        while True:
            try:
                request(self.port, "GET", "/")
                break
            except OSError:
                if not self.process.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start:\n{self.process.output()}") from None
                time.sleep(0.05)

    def stop(self):
        self.process.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
