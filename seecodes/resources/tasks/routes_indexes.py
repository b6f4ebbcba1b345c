"""Routes of the tasks tag: indexes (to be built)."""
