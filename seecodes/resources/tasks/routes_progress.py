"""Routes of the tasks tag: progress (to be built)."""
