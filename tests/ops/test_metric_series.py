"""Metric series are bounded: every label's value comes from a fixed set, whatever a client sends."""
import ast
import random
import string
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from seecodes import errors, prometheus

from .conftest import scrape

SEECODES = Path(__file__).resolve().parents[2] / "seecodes"


def series(client) -> set[str]:
    """Every sample name with its labels, as exposed."""
    found = set()
    for family in text_string_to_metric_families(scrape(client).get_data(as_text=True)):
        for sample in family.samples:
            found.add(f"{sample.name}{sorted(sample.labels.items())}")
    return found


def _hostile_traffic(client, runs, rng: random.Random) -> None:
    for _ in range(40):
        method = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 20)))
        client.open("/v1/tasks/init", method=method)
        client.open("/" + "".join(rng.choices(string.ascii_lowercase + "/", k=rng.randint(1, 30))))
        client.get(f"/v1/tasks/run_{rng.getrandbits(64):x}", headers=runs.headers)
        answer = runs.init({"model": "".join(rng.choices(string.ascii_letters, k=12)), "files": ["list.md"]})
        assert answer.status_code == 422


def test_random_methods_paths_and_models_add_no_series(client, runs):
    series(client)  # a scrape is a request too: its own series exist from here on
    _hostile_traffic(client, runs, random.Random())  # every label value the traffic can reach now exists
    before = series(client)
    _hostile_traffic(client, runs, random.Random())
    assert series(client) == before


def test_an_unknown_method_counts_as_other(client):
    assert client.open("/v1/tasks/init", method="QWERTYUIOP").status_code == 405
    assert not any("QWERTYUIOP" in name for name in series(client))
    assert any("('method', 'other')" in name for name in series(client))


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("method, label", [("GET", "GET"), ("post", "other"), ("PROPFIND", "other"),
                                           ("DELETE", "DELETE"), ("OPTIONS", "OPTIONS")])
def test_method_label(method, label):
    assert prometheus.method_label(method) == label


@pytest.mark.backends("sqlite")
def test_error_code_label_is_a_known_code_or_other():
    assert errors.metric_code("request_key_replayed") == "request_key_replayed"
    assert errors.metric_code("anything else") == "other"


def _raised_codes() -> set[str]:
    """Every literal error code in the service's source: `code="..."` arguments and `code = "..."` assignments."""
    codes = set()
    for path in SEECODES.rglob("*.py"):
        if "client" in path.relative_to(SEECODES).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "code" and isinstance(node.value, ast.Constant):
                codes.add(node.value.value)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    names = target.elts if isinstance(target, ast.Tuple) else [target]
                    values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                    codes.update(value.value for name, value in zip(names, values)
                                 if isinstance(name, ast.Name) and name.id == "code"
                                 and isinstance(value, ast.Constant) and isinstance(value.value, str))
    return codes | set(errors.HTTP_CODES.values())


@pytest.mark.backends("sqlite")
def test_every_error_code_the_service_raises_is_in_the_known_set():
    """A new code must be added to errors.ERROR_CODES, or its errors would count as `other`."""
    assert _raised_codes() - errors.ERROR_CODES == set()
