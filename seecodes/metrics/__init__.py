"""Installation-level metrics reported by the Jira app, kept as a time series."""
