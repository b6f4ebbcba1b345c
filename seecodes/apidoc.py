"""What a view may answer besides success, declared by the decorator that makes it so (guards, body parsing,
routes): error codes by status and credentials, kept in flask-smorest's per-view documentation.

The OpenAPI finishing pass (resources/openapi_doc.py) renders each declared status into a full response (the
codes in `x-error-codes` and the description, one example per code); it adds no code of its own, so a code
is documented exactly when the code that raises it says so.
"""
from copy import deepcopy


def declare(view, errors: dict | None = None, security: list | None = None):
    """Add {status: [codes]} (merged with what inner decorators declared) and, if given, the security."""
    view._apidoc = deepcopy(getattr(view, "_apidoc", {}))
    manual = view._apidoc.setdefault("manual_doc", {})
    if security is not None:
        manual["security"] = deepcopy(security)
    responses = manual.setdefault("responses", {})
    for status, codes in (errors or {}).items():
        listed = responses.setdefault(str(status), {}).setdefault("x-error-codes", [])
        listed += [code for code in codes if code not in listed]
    return view


def raises(errors: dict):
    """A route's own domain errors, {status: [codes]}, like flask-smorest's alt_response at the view."""
    return lambda view: declare(view, errors)


def merge(*tables: dict) -> dict:
    merged: dict = {}
    for table in tables:
        for status, codes in table.items():
            merged.setdefault(status, [])
            merged[status] += [code for code in codes if code not in merged[status]]
    return merged
