"""Jira installations (tenants): provisioning from Forge tokens, status and credits."""
