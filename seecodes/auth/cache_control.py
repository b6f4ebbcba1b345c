"""Cache-Control: no-store on every answer that carries a credential (RFC 6749 §5.1), refusals included."""
from functools import wraps

from flask import g

from .guards import NEXT_KEY_HEADER


def no_store(view):
    """Mark the route's answers, whatever their status, as never to be stored by a cache."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.seecodes_no_store = True
        return view(*args, **kwargs)

    return wrapper


def _apply(response):
    if g.get("seecodes_no_store") or NEXT_KEY_HEADER in response.headers:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def register(app) -> None:
    app.after_request(_apply)
