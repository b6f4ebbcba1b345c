"""A local signing key and JWKS, and tokens shaped like Forge's, for development and tests offline."""
import json
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .tokens import ISSUER

KEY_FILE = "forge-dev-key.pem"
JWKS_FILE = "forge-dev-jwks.json"


def generate_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def public_jwk(key, kid: str) -> dict:
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return jwk


def write_dev_keys(instance_path: str, force: bool = False) -> tuple[Path, Path]:
    """Create (or keep) instance/forge-dev-key.pem and instance/forge-dev-jwks.json."""
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    key_path, jwks_path = folder / KEY_FILE, folder / JWKS_FILE
    if force or not key_path.exists():
        key = generate_key()
        key_path.write_bytes(private_pem(key))
        key_path.chmod(0o600)
        kid = f"seecodes-dev-{uuid.uuid4().hex[:8]}"
        jwks_path.write_text(json.dumps({"keys": [public_jwk(key, kid)]}, indent=2))
    return key_path, jwks_path


def load_dev_key(instance_path: str):
    folder = Path(instance_path)
    key = serialization.load_pem_private_key((folder / KEY_FILE).read_bytes(), password=None)
    kid = json.loads((folder / JWKS_FILE).read_text())["keys"][0]["kid"]
    return key, kid


def forge_claims(app_id: str, installation_id: str, cloud_id: str | None = None, principal: str | None = None,
                 ttl: int = 25, environment: str = "DEVELOPMENT", license_active: bool | None = None,
                 capability_set: str | None = None, with_context: bool = True) -> dict:
    """Claims shaped like a Forge invocation token's."""
    now = int(time.time())
    app = {
        "id": app_id,
        "installationId": installation_id,
        "environment": {"type": environment, "id": str(uuid.uuid4())},
        "appVersion": "1.0.0",
    }
    if cloud_id:
        app["apiBaseUrl"] = f"https://api.atlassian.com/ex/jira/{cloud_id}"
    if license_active is not None:
        app["license"] = {"isActive": license_active, "capabilitySet": capability_set or "capabilityStandard"}
    claims = {
        "app": app,
        "iss": ISSUER,
        "aud": app_id,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
    }
    if with_context and cloud_id:
        claims["context"] = {"cloudId": cloud_id, "moduleKey": "seecodes-issue-panel"}
    if principal:
        claims["principal"] = principal
    return claims


def lifecycle_claims(app_id: str, installation_id: str, cloud_id: str | None = None, **options) -> dict:
    """Claims of the token Forge sends with a lifecycle event (installed, upgraded, uninstalled) to a remote: no
    backend function invoked it, so it carries no `context` and no `principal`; the site is in `app.apiBaseUrl`."""
    options.update(principal=None, with_context=False)
    return forge_claims(app_id, installation_id, cloud_id, **options)


def sign(claims: dict, key, kid: str, algorithm: str = "RS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})
