"""First hints under real concurrency: parallel first calls of a new installation with two different hint pairs."""
import uuid

import pytest
import requests

from ..conftest import new_installation_id
from ..server import serve
from .conftest import race

PARALLEL = 16
ROUNDS = {"postgresql": 4, "sqlite": 2}


def _pairs():
    return [{"cloudIdHint": str(uuid.uuid4()), "siteUrlHint": f"https://{name}-{uuid.uuid4().hex[:6]}.atlassian.net"}
            for name in ("first", "second")]


def _site_of(installation):
    return installation.site_cloud_id, installation.site_url


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_exactly_one_hint_pair_wins_the_first_calls_of_a_new_installation(app, signer, backend, in_app):
    from seecodes.installations import service as installations

    with serve(app) as base:
        for round_number in range(ROUNDS[backend]):
            installation_id = new_installation_id()
            pairs = _pairs()
            # Forge backend functions: no context, so the hints are what teaches the site.
            tokens = [signer.token(installation_id, None, "557058:alice") for _ in range(PARALLEL)]
            results = race(PARALLEL, lambda i: requests.post(
                f"{base}/v1/jira/request-key", json=pairs[i % 2],
                headers={"Authorization": f"Bearer {tokens[i]}"}, timeout=60))
            failures = [r for r in results if isinstance(r, Exception)]
            assert not failures, failures
            by_pair = [sorted({r.status_code for r in results[p::2]}) for p in (0, 1)]
            assert sorted(by_pair) == [[200], [403]], f"round {round_number}: {by_pair}"
            losers = [r.json()["error"] for r in results if r.status_code == 403]
            assert set(losers) == {"tenant_mismatch"}
            winner = pairs[by_pair.index([200])]
            stored = in_app(lambda: _site_of(installations.get_by_installation_id(installation_id)))
            assert stored == (winner["cloudIdHint"], winner["siteUrlHint"])
