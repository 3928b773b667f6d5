"""The app the gunicorn tests serve: ``python -m gunicorn -k <worker> deploy_gunicorn_app:app``
(from ``tests/servers``). gunicorn's gevent workers patch before this is imported; gthread does
not, and gsio then runs in threading mode. See ``deploy_handlers`` for what it answers.
"""

import logging
import sys

from deploy_handlers import page_app, smoke_server

import gsio

logging.basicConfig(
    level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
)
logging.getLogger("geventwebsocket").setLevel(logging.WARNING)  # a line per request otherwise

sio = smoke_server()
app = gsio.WSGIApp(sio, page_app(sio))
