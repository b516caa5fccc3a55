"""The one module-level app, for the WSGI server: `granian --interface wsgi tracker.wsgi:app`."""

from tracker import create_wsgi

app = create_wsgi()
