"""Project indexes: per-project path -> file summary entries, matched by path and content hash."""
