"""Routes of the tasks tag: activity (to be built)."""
