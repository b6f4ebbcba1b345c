"""Routes of the telemetry tag (to be built)."""
