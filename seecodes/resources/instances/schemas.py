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
                       "installation_uninstalled after Forge's uninstalled event, whose envelope adds "
                       "installationStatus; 403 installation_inactive for any other status)", "enum": ["active"]})
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


class ForgeEventAppSchema(Schema):
    id = ma.fields.String(validate=ma.validate.Length(max=512))
    version = ma.fields.String(validate=ma.validate.Length(max=64), metadata={"description": "Recorded on the installation"})


class ForgeEventBodySchema(Schema):
    """The payload Forge delivers to a remote `trigger` endpoint; other fields Forge adds are ignored."""

    eventType = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ["avi:forge:installed:app", "avi:forge:upgraded:app", "avi:forge:uninstalled:app"]))
    id = ma.fields.String(validate=ma.validate.Length(max=512), metadata={
        "description": "Forge's id of the installation; the token's app.installationId names the tenant"})
    context = ma.fields.String(validate=ma.validate.Length(max=512), metadata={
        "description": "The site's ARI (ari:cloud:jira::site/<cloudId>); may not contradict the installation's"})
    installerAccountId = ma.fields.String(validate=ma.validate.Length(max=255))
    upgraderAccountId = ma.fields.String(validate=ma.validate.Length(max=255))
    app = ma.fields.Nested(ForgeEventAppSchema)


class RevokedSchema(Schema):
    launchCodes = ma.fields.Integer(required=True)
    permits = ma.fields.Integer(required=True)
    requestKeys = ma.fields.Integer(required=True)


class ForgeEventSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    eventType = ma.fields.String(required=True)
    installationId = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={
        "description": "The installation's status after the event: `active`, `uninstalled`, another status an "
                       "operator set (kept by an installed event), or `unknown` (an uninstall of an installation "
                       "the backend never saw)"})
    changed = ma.fields.Boolean(required=True, metadata={"description": "False for a retried delivery"})
    revoked = ma.fields.Nested(RevokedSchema, required=True)
    settledRuns = ma.fields.Integer(required=True, metadata={"description": "Runs failed and refunded"})
