"""Fixtures of the OpenAPI proofs: a tenant with credits, its permit and a run, driven through the served document."""
import pytest

from .harness import Harness


@pytest.fixture
def app_overrides():
    # Fuzzing hammers launch-exchange; the limit itself is tested in tests/security.
    return {"SEECODES_EXCHANGE_RATE_LIMIT": 100_000}


@pytest.fixture
def harness(app, client, signer, tenant, grant):
    prepared = Harness(client, signer, tenant)
    grant(tenant["installation_id"], 1_000_000)
    return prepared
