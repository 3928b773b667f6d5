"""The WSGI application: Socket.IO on /socket.io/, Django on every other path.

``python manage.py runserver`` serves it (settings.WSGI_APPLICATION; threads, gsio in
threading mode), and so does ``gunicorn -k gevent chat_site.wsgi:application``.
"""

import os

from django.core.wsgi import get_wsgi_application

import gsio

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat_site.settings")

from chat_site.sio import sio  # noqa: E402

application = gsio.WSGIApp(sio, get_wsgi_application())
