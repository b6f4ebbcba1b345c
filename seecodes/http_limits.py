"""The HTTP server's request limits: gunicorn.conf.py enforces them and the OpenAPI document states them."""
# Kept free of imports: gunicorn.conf.py imports it before it sets the metrics folder.

REQUEST_LINE_BYTES = 8190  # gunicorn's maximum; every documented query fits in under 4 KiB even percent-encoded
HEADER_FIELDS = 100
HEADER_FIELD_BYTES = 8190
