"""The installation document of GET /v1/instances/me."""
from .. import clock
from ..metrics.service import latest_installed_users_count
from .models import Installation

_LATEST = object()


def document(installation: Installation, installed_users_count: int | None = _LATEST) -> dict:
    """installedUsersCount is the latest count reported to POST /v1/jira/instance-metrics (null if none)."""
    if installed_users_count is _LATEST:
        installed_users_count = latest_installed_users_count(installation.id)
    return {
        "ok": True,
        "cloudId": installation.installation_id,
        "installationId": installation.installation_id,
        "siteCloudId": installation.site_cloud_id,
        "status": installation.status,
        "credits": installation.credits,
        "apiKeyPrefix": installation.api_key_prefix,
        "updatedAt": clock.epoch(installation.updated_at),
        "capabilitySet": installation.capability_set,
        "licenseActive": installation.license_active,
        "activationSource": installation.activation_source,
        "devModeActive": installation.dev_mode,
        "billingMode": installation.billing_mode,
        "siteUrl": installation.site_url,
        "installedUsersCount": installed_users_count,
    }
