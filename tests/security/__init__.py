"""Tests of issue 2's security core: Forge tokens, request keys, launch codes, permits, launcher, schema."""
