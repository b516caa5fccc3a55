"""The one module-level app, for a PEP 3333 server (`gunicorn tracker.wsgi:app`); granian serves it
through `tracker.asgi:app`, because its own WSGI interface loses non-ASCII header values."""

from tracker import create_wsgi

app = create_wsgi()
