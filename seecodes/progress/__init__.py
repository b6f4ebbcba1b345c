"""Task progress: the issue-level ready / left / risk document, one per installation, project and task."""
