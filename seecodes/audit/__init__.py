"""Security events: replays, binding mismatches and other credential misuse, kept for review."""
