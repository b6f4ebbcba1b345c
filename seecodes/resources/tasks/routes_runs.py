"""Routes of the tasks tag: runs (to be built)."""
