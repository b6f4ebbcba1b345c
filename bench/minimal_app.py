"""The baselines of the HTTP benchmarks: minimal hand-written Flask routes doing the same essential work.

GET /baseline/runs/<run_id>: verify the itsdangerous permit, read the run with one SQL query.
GET /baseline/jira: verify the RS256 Forge token, consume the request key with one conditional UPDATE
and insert the chain's next key in the same transaction.
"""
import hashlib
import json
import os
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
from flask import Flask, abort, jsonify, request
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, text

PERMIT_SALT = "seecodes.task-permit.v1"

app = Flask(__name__)
engine = create_engine(os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
serializer = URLSafeTimedSerializer([os.environ["SEECODES_SECRET_KEY"]], salt=PERMIT_SALT)
_jwk = json.loads(Path(os.environ["FORGE_JWKS_URL"]).read_text())["keys"][0]
forge_key = jwt.PyJWK(_jwk).key
app_id = os.environ["FORGE_APP_ID"]


def _bearer() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        abort(401)
    return token


@app.get("/baseline/runs/<run_id>")
def run_status(run_id):
    claims = serializer.loads(_bearer(), max_age=86400)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT r.status, r.updated_at, r.error FROM runs r JOIN installations i ON i.id = r.installation_pk "
                 "WHERE r.id = :id AND i.installation_id = :ins AND r.project_id = :p AND r.task_id = :t"),
            {"id": run_id, "ins": claims["ins"], "p": claims["p"], "t": claims["t"]},
        ).one_or_none()
    if row is None:
        abort(404)
    return jsonify(ok=True, status={"status": row.status, "updatedAt": row.updated_at.isoformat() + "Z"})


@app.get("/baseline/jira")
def jira_route():
    jwt.decode(_bearer(), key=forge_key, algorithms=["RS256"], audience=app_id, issuer="forge/invocation-token",
               leeway=10, options={"require": ["exp", "nbf", "iat", "jti"]})
    presented = request.headers.get("X-SeeCodes-Jira-Request-Key", "")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    nxt = "sc_jira_req_" + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        row = connection.execute(
            text("UPDATE request_keys SET consumed_at = :now WHERE key_hash = :h AND consumed_at IS NULL "
                 "AND superseded_at IS NULL AND expires_at > :now RETURNING installation_pk, principal, session_id"),
            {"now": now, "h": hashlib.sha256(presented.encode()).hexdigest()},
        ).one_or_none()
        if row is None:
            abort(401)
        connection.execute(
            text("INSERT INTO request_keys (key_hash, installation_pk, principal, session_id, created_at, expires_at) "
                 "VALUES (:h, :i, :p, :s, :now, :exp)"),
            {"h": hashlib.sha256(nxt.encode()).hexdigest(), "i": row.installation_pk, "p": row.principal,
             "s": row.session_id, "now": now, "exp": now + timedelta(minutes=10)},
        )
    response = jsonify(ok=True)
    response.headers["X-SeeCodes-Next-Request-Key"] = nxt
    return response
