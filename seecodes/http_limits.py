"""The HTTP server's request limits: gunicorn.conf.py enforces them and the OpenAPI document states them."""
# Kept free of imports: gunicorn.conf.py reads this file by path, before anything of the app is imported.

REQUEST_LINE_BYTES = 8190  # gunicorn's maximum; every documented query fits in under 4 KiB even percent-encoded
HEADER_FIELDS = 100
HEADER_FIELD_BYTES = 8190
