"""The credential checks, one decorator per access pattern, reused by every route."""
