"""Schemas of the security tag."""
import marshmallow as ma
from marshmallow import validate

from ...extensions import Schema
from ..fields import HINT, BoundedDict, FullMatch, HintsSchema, StrictInteger, account_id, project_id, task_id

SESSION_ID = FullMatch(r"^[A-Za-z0-9._:-]{1,128}$", error="Letters, digits and . _ : - only (at most 128).")


class RequestKeyBodySchema(HintsSchema):
    BODY_OPTIONAL = True  # the contract: "accepts an optional body"

    sessionId = ma.fields.String(allow_none=True, validate=SESSION_ID,
                                 metadata={"description": "Optional: resume this session's key chain (its previous key stops "
                                                          "working); without it a new independent chain starts",
                                           "maxLength": 128})


class RequestKeySchema(Schema):
    ok = ma.fields.Boolean(required=True)
    requestKey = ma.fields.String(required=True, metadata={"example": "sc_jira_req_..."})
    expiresAt = ma.fields.Integer(required=True, metadata={"description": "Epoch seconds"})


class TaskBindingBodySchema(HintsSchema):
    projectId = project_id(required=True)
    taskId = task_id(required=True)
    userAccountId = account_id()


class VscodeLinkBodySchema(TaskBindingBodySchema):
    expirationDays = StrictInteger(load_default=1, validate=validate.Range(min=1, max=14),
                                       metadata={"description": "Launch link lifetime in days (1-14)"})
    jiraContext = BoundedDict(allow_none=True, metadata={"description": "Task context for GET /v1/tasks/context"})
    initialTaiDoc = BoundedDict(allow_none=True, metadata={"description": "Optional editor boot state"})


class VscodeLinkSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    launchCode = ma.fields.String(required=True)
    vscodeUrl = ma.fields.String(required=True)
    httpsUrl = ma.fields.String(required=True)
    expiresAt = ma.fields.Integer(required=True)


class PermitSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    cloudId = ma.fields.String(required=True)
    projectId = ma.fields.String(required=True)
    taskId = ma.fields.String(required=True)
    permit = ma.fields.String(required=True)
    expiresAt = ma.fields.Integer(required=True)


class LaunchExchangeBodySchema(Schema):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={"maxLength": 200})
    projectId = project_id(required=True)
    taskId = task_id(required=True)


LANGUAGE = FullMatch(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$", error="Must be a language tag such as en or pt-BR.")
LAUNCH_CODE = FullMatch(r"^sc_launch_[A-Za-z0-9_-]{1,100}$", error="Must be a launch code (sc_launch_...).")


class LaunchQuerySchema(Schema):
    p = project_id(required=True, metadata={"description": "projectId"})
    t = task_id(required=True, metadata={"description": "taskId"})
    c = ma.fields.String(required=True, validate=LAUNCH_CODE, metadata={"description": "one-time launch code",
                                                                       "maxLength": 110})
    baseUrl = ma.fields.String(allow_none=True, validate=HINT,
                               metadata={"description": "Backend route hint; kept only if it is this backend's own URL",
                                         "maxLength": 512})
    statusLanguage = ma.fields.String(allow_none=True, validate=LANGUAGE, metadata={"maxLength": 35})

    @ma.pre_load
    def refuse_legacy_k(self, data, **kwargs):
        if "k" in data:
            raise ma.ValidationError("The k parameter is no longer accepted; use c.", "k")
        return data
