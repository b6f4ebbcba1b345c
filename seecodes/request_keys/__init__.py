"""Single-use, rotating Jira request keys, one chain per (installation, principal, sessionId)."""
