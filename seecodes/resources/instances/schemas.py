"""Schemas of the instances tag."""
import marshmallow as ma

from ...extensions import Schema
from ..fields import HintsSchema


class HintsQuerySchema(HintsSchema):
    pass


class InstanceSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    cloudId = ma.fields.String(required=True, metadata={"description": "Tenant key: the installation ARI"})
    installationId = ma.fields.String(required=True)
    siteCloudId = ma.fields.String(allow_none=True, metadata={"description": "The Jira site's own cloud id"})
    status = ma.fields.String(required=True, metadata={
        "description": "Always `active`: a call for an installation that is not active is refused (403 "
                       "installation_inactive)", "enum": ["active"]})
    credits = ma.fields.Integer(required=True)
    apiKeyPrefix = ma.fields.String(required=True, metadata={"description": "Display-only identifier"})
    updatedAt = ma.fields.Integer(required=True, metadata={"description": "Epoch seconds"})
    capabilitySet = ma.fields.String(allow_none=True)
    licenseActive = ma.fields.Boolean(required=True)
    activationSource = ma.fields.String(required=True)
    devModeActive = ma.fields.Boolean(required=True)
    billingMode = ma.fields.String(required=True)
    siteUrl = ma.fields.String(allow_none=True)
    installedUsersCount = ma.fields.Integer(allow_none=True, metadata={"description": "Latest count reported to POST /v1/jira/instance-metrics; null if none"})
