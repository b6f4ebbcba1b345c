"""Field types shared by the schemas of several tags (contract identifiers and hints)."""
import marshmallow as ma
from marshmallow import validate

from ..extensions import Schema

class FullMatch(validate.Regexp):
    """Regexp that must match the whole value: marshmallow's uses re.match, where `$` also accepts a
    trailing newline ("PRJ\\n"). The pattern keeps its ^…$ form, which is what the OpenAPI document shows."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


class StrictBoolean(ma.fields.Boolean):
    """Only JSON true/false: no "yes", 0 or 1."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictInteger(ma.fields.Integer):
    """Only JSON integers: no strings, floats (5.0) or booleans (which Python counts as integers)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class BoundedDict(ma.fields.Dict):
    """An open-ended JSON object (jiraContext, initialTaiDoc) nested at most MAX_DEPTH levels: stored and
    echoed back later, it must stay serialisable without exhausting the stack."""

    def _deserialize(self, value, attr, data, **kwargs):
        from ..json_input import MAX_DEPTH, nesting_depth

        value = super()._deserialize(value, attr, data, **kwargs)
        if nesting_depth(value) > MAX_DEPTH:
            raise ma.ValidationError(f"Nests deeper than {MAX_DEPTH} levels.")
        return value


JIRA_ID = FullMatch(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$",
    error="Must be a Jira project or issue key/id: letters, digits, '_', '.', '-' (at most 255).",
)
ACCOUNT_ID = FullMatch(r"^[A-Za-z0-9:_-]{1,128}$", error="Must be an Atlassian account id.")


def project_id(metadata=None, **kwargs):
    return ma.fields.String(validate=JIRA_ID, metadata={"example": "AUTH", "maxLength": 255, **(metadata or {})},
                            **kwargs)


def task_id(metadata=None, **kwargs):
    return ma.fields.String(validate=JIRA_ID, metadata={"example": "AUTH-128", "maxLength": 255,
                                                        **(metadata or {})}, **kwargs)


def account_id(**kwargs):
    return ma.fields.String(validate=ACCOUNT_ID, allow_none=True, metadata={"maxLength": 128}, **kwargs)


# Hints are cloud ids, installation ARIs and site URLs: printable ASCII, so the longest documented query
# string stays far below gunicorn's request-line limit even when every character is percent-encoded.
MAX_HINT_CHARS = 512
HINT_PATTERN = r"^[\x21-\x7e]{0,%d}$" % MAX_HINT_CHARS
HINT = FullMatch(HINT_PATTERN, error=f"Must be at most {MAX_HINT_CHARS} printable ASCII characters (no spaces).")


def hint(**kwargs):
    return ma.fields.String(allow_none=True, validate=HINT, metadata={"maxLength": MAX_HINT_CHARS}, **kwargs)


class HintsSchema(Schema):
    """Optional tenant hints; they fill in what the Forge token lacks and never switch tenant."""

    cloudIdHint = hint()
    siteUrlHint = hint()
