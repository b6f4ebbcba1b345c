"""schemathesis finds no difference between /openapi.json and the server: all checks, examples, coverage,
fuzzing and the stateful phase over the document's links, authenticated as the real clients are."""
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck

from seecodes.resources.openapi_doc import OPERATIONS

from ..contract_examples import BEYOND_CONTRACT_ROUTES

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 12
STATEFUL_STEPS = 12
STATEFUL_WALKS = 8
CONFIG = {
    # The server refuses NUL in every string (the document's description says so once, not in every pattern).
    "generation": {"mode": "all", "max-examples": EXAMPLES_PER_OPERATION, "allow-x00": False},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": True, "max-steps": STATEFUL_STEPS}},
    # The disabled route answers 410 whatever it is sent: that is its documented answer to any body.
    "operations": [{"include-operation-id": "ingestTelemetryEvents",
                    "checks": {"negative_data_rejection": {"expected-statuses": [410]},
                               "positive_data_acceptance": {"expected-statuses": [410]}}}],
}
SETTINGS = hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                               suppress_health_check=list(HealthCheck))


@pytest.fixture
def api_schema(app, harness):
    loaded = schemathesis.openapi.from_wsgi("/openapi.json", app, config=schemathesis.Config.from_dict(CONFIG))
    loaded.auth(refresh_interval=None)(harness.auth_provider())  # registers it for every case of this schema
    return loaded


# schemathesis leaves out the operation that serves the document it reads (GET /openapi.json).
FUZZED = sorted(spec["operationId"] for spec in OPERATIONS.values() if spec["operationId"] != "getOpenApiDocument")


def test_every_operation_is_fuzzed_but_the_document_itself():
    assert len(FUZZED) == 23 + len(BEYOND_CONTRACT_ROUTES)


@pytest.mark.parametrize("operation_id", FUZZED)
def test_the_operation_does_what_the_document_says(api_schema, harness, operation_id):
    """Examples, coverage and fuzzing phases, built as @schema.parametrize builds them (its pytest wrapper is not
    used: it rewrites pytest's private node ids, which pytest 9 no longer has)."""
    from schemathesis.generation.feedback import FeedbackSources
    from schemathesis.pytest._test_builder import build_operation_test
    from schemathesis.python._constants.orchestrator import make_constants_value_source

    def check(case):
        harness.prepare(case)
        response = case.call()
        harness.observe(case, response)
        case.validate_response(response)

    operations = [result.ok() for result in api_schema.get_all_operations()
                  if result.ok().definition.raw.get("operationId") == operation_id]
    assert len(operations) == 1
    test = build_operation_test(config=api_schema.config, operation=operations[0], test_func=check,
                                explicit_settings=SETTINGS, given_kwargs={},
                                feedback=FeedbackSources(constants_value_source=make_constants_value_source(api_schema)))
    test()


def test_stateful_walks_over_the_links_agree_with_the_document(api_schema, harness):
    class Walk(api_schema.as_state_machine()):
        def before_call(self, case):
            # Stateful steps are built from links, not by the auth-aware strategies: credentials go on here.
            harness.authenticate(case)
            harness.prepare(case)

        def after_call(self, response, case):
            harness.observe(case, response)

    Walk.run(settings=hypothesis.settings(SETTINGS, max_examples=STATEFUL_WALKS, stateful_step_count=STATEFUL_STEPS))
    followed = {operation_id for operation_id, status, linked in harness.calls if linked}
    assert followed & {"startRun", "getRun", "getRunOutput", "getRunLogs"}, harness.calls
