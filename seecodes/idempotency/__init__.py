"""Idempotency keys: a retried write (init, start, cancel) answers its first answer instead of working twice."""
