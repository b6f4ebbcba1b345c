"""Security events: credential misuse and expected recoveries (replays, mismatches, retries), kept for review."""
