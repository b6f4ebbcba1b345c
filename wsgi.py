"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from seecodes import create_app

app = create_app()
