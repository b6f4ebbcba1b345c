"""The one generator of identifiers and secrets, and the one way secrets are hashed and compared."""
import hashlib
import hmac
import secrets


def new_id(prefix: str, nbytes: int = 12) -> str:
    """A public identifier such as ``run_3f9c...``; unguessable but not a credential."""
    return f"{prefix}{secrets.token_hex(nbytes)}"


def new_secret(prefix: str, nbytes: int = 32) -> str:
    """A bearer secret with ``nbytes`` of randomness (256 bits by default), URL-safe."""
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"


def hash_secret(secret: str) -> str:
    """Secrets are stored only as SHA-256 digests; lookups go by digest."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
