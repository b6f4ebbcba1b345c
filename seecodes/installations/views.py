"""The installation document of GET /v1/instances/me."""
from .. import clock
from .snapshot import InstallationSnapshot


def document(installation: InstallationSnapshot) -> dict:
    """installation: what the Jira guard injects (an InstallationSnapshot, whichever path it took).

    installedUsersCount is the latest count reported to POST /v1/jira/instance-metrics (null if none), kept on
    the installation row by metrics.service.record.
    """
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
        "installedUsersCount": installation.installed_users_count,
    }
