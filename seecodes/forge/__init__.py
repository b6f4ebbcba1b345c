"""Forge invocation tokens: verification against a cached JWKS, and local dev keys for offline use."""
