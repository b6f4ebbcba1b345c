"""The Jira task context and initial editor payload stored by vscode-link for the IDE to read."""
