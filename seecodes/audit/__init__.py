"""Security events: replays, binding mismatches and other credential misuse (and expected recoveries), kept for review."""
