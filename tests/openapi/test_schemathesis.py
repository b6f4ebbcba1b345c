"""schemathesis finds no difference between /openapi.json and the server: all checks, examples, coverage,
fuzzing and the stateful phase over the document's links, authenticated as the real clients are."""
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 12
STATEFUL_STEPS = 12
CONFIG = {
    "generation": {"mode": "all", "max-examples": EXAMPLES_PER_OPERATION},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": True, "max-steps": STATEFUL_STEPS}},
    # The disabled route answers 410 whatever it is sent: that is its documented answer to any body.
    "operations": [{"include-operation-id": "ingestTelemetryEvents",
                    "checks": {"negative_data_rejection": {"expected-statuses": [410]}}}],
}
SETTINGS = hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                               suppress_health_check=list(HealthCheck))


@pytest.fixture
def api_schema(app, harness):
    loaded = schemathesis.openapi.from_wsgi("/openapi.json", app, config=schemathesis.Config.from_dict(CONFIG))
    loaded.auth(harness.auth_provider(), refresh_interval=None)
    return loaded


def _operation_tests(api_schema, test_func):
    """One Hypothesis test per operation, with the examples, coverage and fuzzing phases (as @schema.parametrize
    builds them; its pytest wrapper is not used because it rewrites pytest's private node ids)."""
    from schemathesis.pytest.lazy import get_all_tests

    for result in get_all_tests(schema=api_schema, test_func=test_func, settings=SETTINGS, given_kwargs={}):
        operation, test = result.ok()
        yield operation.label, test


def test_every_operation_does_what_the_document_says(api_schema, harness):
    def check(case):
        harness.prepare(case)
        response = case.call()
        harness.observe(case, response)
        case.validate_response(response)

    failures = {}
    tested = 0
    for label, test in _operation_tests(api_schema, check):
        tested += 1
        try:
            test()
        except (Exception, pytest.fail.Exception) as error:  # every operation runs; failures are reported together
            failures[label] = f"{type(error).__name__}: {error}"
    assert tested == 24
    assert failures == {}, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())


def test_stateful_walks_over_the_links_agree_with_the_document(api_schema, harness):
    class Walk(api_schema.as_state_machine()):
        def before_call(self, case):
            harness.prepare(case)

        def after_call(self, response, case):
            harness.observe(case, response)

    hypothesis.settings(SETTINGS, max_examples=3, stateful_step_count=STATEFUL_STEPS)(Walk.TestCase)().runTest()
