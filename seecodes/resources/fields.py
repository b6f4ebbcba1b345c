"""Field types shared by the schemas of several tags (contract identifiers and hints)."""
import marshmallow as ma
from marshmallow import validate

from ..extensions import Schema

JIRA_ID = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$",
    error="Must be a Jira project or issue key/id: letters, digits, '_', '.', '-' (at most 255).",
)
ACCOUNT_ID = validate.Regexp(r"^[A-Za-z0-9:_-]{1,128}$", error="Must be an Atlassian account id.")


def project_id(metadata=None, **kwargs):
    return ma.fields.String(validate=JIRA_ID, metadata={"example": "AUTH", **(metadata or {})}, **kwargs)


def task_id(metadata=None, **kwargs):
    return ma.fields.String(validate=JIRA_ID, metadata={"example": "AUTH-128", **(metadata or {})}, **kwargs)


def account_id(**kwargs):
    return ma.fields.String(validate=ACCOUNT_ID, allow_none=True, **kwargs)


def hint(**kwargs):
    return ma.fields.String(allow_none=True, validate=validate.Length(max=512), **kwargs)


class HintsSchema(Schema):
    """Optional tenant hints; they fill in what the Forge token lacks and never switch tenant."""

    cloudIdHint = hint()
    siteUrlHint = hint()
