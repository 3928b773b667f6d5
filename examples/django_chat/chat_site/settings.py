"""Settings of the example: the least Django needs to serve one page, no database."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SECRET_KEY", "dev only: set SECRET_KEY in production")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS: list = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "chat_site.urls"
# runserver serves this: Django's app with Socket.IO in front of it.
WSGI_APPLICATION = "chat_site.wsgi.application"
DATABASES: dict = {}
USE_TZ = True

# The browser bundle of socket.io-client, served by a view (gsio does not serve it).
GSIO_CLIENT_DIST = Path(
    os.environ.get("GSIO_CLIENT_DIST")
    or BASE_DIR.parent.parent / "tests" / "js" / "node_modules" / "socket.io-client" / "dist"
)
