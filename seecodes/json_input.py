"""The one safe reading of request bodies (JSON), query strings and path parameters, before any work."""
# Every JSON route, the guards' hint reading and webargs go through SafeRequest.get_json: a body is parsed
# once (nesting the parser cannot handle and oversized numbers -> 400 invalid_json), and text PostgreSQL
# cannot store (NUL, unpaired surrogates) is refused with 422 naming the field on both backends.
# Bodies and query strings are read by webargs inside @blp.arguments, which every route stacks below its
# credential guard: the credential is checked first, so a caller without one gets 401 whatever it sent and
# learns nothing of a route's validation. Only path parameters are checked before the guards (a permit
# guard's one-query read binds them into SQL).
import json
import re

import marshmallow as ma
from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import Invalid, InvalidJSON, UnsupportedMediaType

MAX_DEPTH = 64  # arrays/objects inside each other in open-ended documents (fields.BoundedDict)
MAX_NUMBER_CHARS = 64  # digits of one JSON number; Python's own limit (4,300) fails deep in the parser
BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
# The same on the raw body, as a fast pre-test: a \u0000 escape, a high-surrogate escape not followed by a
# low one, a low one not preceded by a high one, or raw surrogate bytes (json decodes with surrogatepass).
# Escaped pairs (emoji sent as \ud83d\ude00) do not match. A false hit only costs the exact walk.
_HIGH, _LOW = rb"\\u[dD][89abAB][0-9a-fA-F]{2}", rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
SUSPECT_BYTES = re.compile(rb"\\u0000|" + _HIGH + rb"(?!" + _LOW + rb")|(?<!" + _HIGH + rb")" + _LOW
                           + rb"|\xed[\xa0-\xbf]")
BAD_TEXT_MESSAGE = "Must not contain NUL characters or unpaired UTF-16 surrogates."
NOT_JSON_DETAIL = "Send the body as JSON with Content-Type: application/json."


class _TooComplex(ValueError):
    """Raised inside the parser; a ValueError so werkzeug treats it as any other parse failure."""


def _parse_number(text: str):
    if len(text) > MAX_NUMBER_CHARS:
        raise _TooComplex(f"A number has more than {MAX_NUMBER_CHARS} characters.")
    return text


def _int(text: str) -> int:
    return int(_parse_number(text))


def _float(text: str) -> float:
    return float(_parse_number(text))


def loads(data):
    """json.loads with bounded numbers; RecursionError (deep nesting) becomes a ValueError too."""
    try:
        return json.loads(data, parse_int=_int, parse_float=_float)
    except RecursionError:
        raise _TooComplex("Nesting too deep.") from None


class SafeJSONProvider(DefaultJSONProvider):
    """The app's JSON provider: Flask hands it to every request as ``json_module``, so get_json uses it."""

    def loads(self, s, **kwargs):
        return loads(s)


def nesting_depth(document, limit: int = MAX_DEPTH) -> int:
    """Depth of nested arrays/objects, counted up to limit + 1 (iterative: no recursion on hostile input)."""
    deepest, stack = 0, [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((item, depth) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


KEY_MESSAGE = "A key m" + BAD_TEXT_MESSAGE[1:]


def text_problem(document) -> tuple[tuple, str] | None:
    """Where refused text first appears (the keys/indexes leading to it) and the message, else None. A bad
    key is reported at the object holding it. Iterative, like nesting_depth."""
    stack = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if BAD_TEXT.search(value):
                return path, BAD_TEXT_MESSAGE
        elif isinstance(value, dict):
            for key, item in value.items():
                if BAD_TEXT.search(key):
                    return path, KEY_MESSAGE
                stack.append((item, path + (key,)))
        elif isinstance(value, list):
            stack.extend((item, path + (str(index),)) for index, item in enumerate(value))
    return None


def nested_errors(path: tuple, message: str) -> dict:
    """{"files": {"0": [message]}}: the shape marshmallow gives nested fields, so `errors` is keyed by the
    body's top-level field whatever the depth (paths may contain dots, so no dotted names)."""
    errors = [message]
    for part in reversed(path or ("_schema",)):
        errors = {part: errors}
    return errors


class SafeRequest(Request):
    def on_json_loading_failed(self, e):
        if e is None:
            raise UnsupportedMediaType(NOT_JSON_DETAIL)
        if isinstance(e, _TooComplex):
            raise InvalidJSON(f"The body is not acceptable JSON: {e}")
        raise InvalidJSON("The body is not valid JSON (UTF-8).")

    def has_body(self) -> bool:
        if self.content_length:
            return True
        return self.content_length is None and "chunked" in self.headers.get("Transfer-Encoding", "").lower()


def _read_chunked_body() -> None:
    """A chunked body has no Content-Length: read it until it ends or passes the limit, so an oversized one
    is 413 rather than silently cut at the limit (werkzeug's LimitedStream stops there without an error)."""
    environ = request.environ
    if request.content_length is not None or "wsgi.input_terminated" not in environ:
        return
    limit = request.max_content_length
    stream, parts, size = environ["wsgi.input"], [], 0
    while True:
        chunk = stream.read(64 * 1024)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
        if limit is not None and size > limit:
            raise RequestEntityTooLarge()
    request._cached_data = b"".join(parts)


# What check_request refuses with (NUL or a lone surrogate in a path parameter): the OpenAPI document lists it on
# every operation with a path parameter.
CHECK_REQUEST_ERRORS = {422: ["validation_failed"]}


def check_request() -> None:
    """before_request: path parameters hold storable text (bodies and query strings: JSONBodyParser)."""
    if request.routing_exception is not None:
        return
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and BAD_TEXT.search(value):
            raise Invalid(f"{name}: {BAD_TEXT_MESSAGE}", errors={name: [BAD_TEXT_MESSAGE]})


def checked_body():
    """The JSON body, parsed once (400 invalid_json when it cannot be) and refused (422) when it holds text
    PostgreSQL cannot store."""
    _read_chunked_body()
    document = request.get_json()
    problem = text_problem(document) if SUSPECT_BYTES.search(request.get_data(cache=True)) else None
    if problem:
        path, message = problem
        raise Invalid(f"{' > '.join(path) or 'body'}: {message}", errors=nested_errors(path, message))
    return document


def body_or_none():
    """The JSON body for a guard's hints, or None when there is none or it does not parse (the route's own
    reading refuses it later, after the credential check)."""
    if not request.is_json or not request.has_body():
        return None
    _read_chunked_body()
    return request.get_json(silent=True)


class JSONBodyParser(FlaskParser):
    """webargs reads JSON through SafeRequest (parsed once, cached); a body that is not JSON is 415, and a
    write route whose body schema is not marked BODY_OPTIONAL refuses a missing body (400 invalid_json).
    Query strings holding unstorable text are a validation error of the route (its error_status_code: 400 for
    the HTML launcher, else 422)."""

    def _raw_load_json(self, req):
        if not req.has_body():
            return core.missing
        if not req.is_json:
            raise UnsupportedMediaType(NOT_JSON_DETAIL)
        return checked_body()

    def load_querystring(self, req, schema):
        refused = {name: [BAD_TEXT_MESSAGE] for name, value in req.args.items(multi=True)
                   if BAD_TEXT.search(name) or BAD_TEXT.search(value)}
        if refused:
            raise ma.ValidationError(refused)
        return super().load_querystring(req, schema)

    def load_json(self, req, schema):
        data = self._raw_load_json(req)
        if data is core.missing and not getattr(schema, "BODY_OPTIONAL", False):
            raise InvalidJSON("This route needs a JSON body (Content-Type: application/json); none was sent.")
        return data


def register(app: Flask) -> None:
    app.json = SafeJSONProvider(app)
    app.request_class = SafeRequest
    app.before_request(check_request)
