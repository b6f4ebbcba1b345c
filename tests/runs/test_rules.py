"""Unit tests of the run rules: file names, the token estimator, pricing, transitions, the offline report."""
import pytest

from seecodes.runs import offline, rules
from seecodes.runs.models import FAILED, IN_PROCESS, INITIALIZED, PROCESSING_REMOTE, QUEUED, SUCCEEDED


def test_acceptable_names_have_no_problems():
    assert rules.file_name_problems(["list.md", "notes v2.md", "ünïcode.txt", "x" * 255]) == {}


def test_each_bad_name_is_reported_at_its_index():
    problems = rules.file_name_problems(["ok.md", "../etc", "ok.md"])
    assert set(problems) == {"1", "2"} and "separators" in problems["1"][0] and "Duplicate" in problems["2"][0]


def test_more_than_twenty_files_is_a_list_problem():
    assert "_list" in rules.file_name_problems([f"{i}.md" for i in range(21)])
    assert rules.file_name_problems([f"{i}.md" for i in range(20)]) == {}


def test_the_estimator_counts_four_bytes_per_token_plus_headers_and_instructions():
    assert rules.estimate_input_tokens({}, None) == rules.PROMPT_OVERHEAD_TOKENS
    assert rules.estimate_input_tokens({"list.md": 400}, "abcd") == 32 + 1 + 8 + 2 + 100


def test_the_estimator_counts_prompt_bytes_not_characters():
    assert rules.estimate_input_tokens({}, "é" * 4) == rules.PROMPT_OVERHEAD_TOKENS + 2


@pytest.mark.parametrize("tokens, credits", [(0, 13), (1000, 14), (12456, 20), (100000, 73)])
def test_price_is_the_ceiling_of_base_plus_per_token(tokens, credits):
    assert rules.price(12.5, 0.0006, tokens) == credits


def test_price_does_not_round_up_float_noise():
    assert rules.price(0.1, 0.2, 1) == 1  # 0.1 + 0.2 = 0.30000000000000004


@pytest.mark.parametrize("source, target", [(INITIALIZED, QUEUED), (INITIALIZED, FAILED), (QUEUED, IN_PROCESS),
                                            (QUEUED, FAILED),
                                            (IN_PROCESS, PROCESSING_REMOTE), (IN_PROCESS, FAILED),
                                            (PROCESSING_REMOTE, SUCCEEDED), (PROCESSING_REMOTE, FAILED),
                                            (IN_PROCESS, QUEUED), (PROCESSING_REMOTE, QUEUED)])
def test_allowed_transitions(source, target):
    assert rules.can_move(source, target)


@pytest.mark.parametrize("source, target", [(INITIALIZED, IN_PROCESS), (QUEUED, SUCCEEDED), (SUCCEEDED, FAILED),
                                            (FAILED, QUEUED), (SUCCEEDED, QUEUED), (INITIALIZED, SUCCEEDED)])
def test_forbidden_transitions(source, target):
    assert not rules.can_move(source, target)


REPORT_INPUT = [("list.md", b"# Title\n## Part\n- [x] done one\n- [ ] open one\n* [X] done two\nTODO: fix\n"
                            b"```\n# not a heading\n```\nFIXME later\n")]


def test_the_offline_report_is_labelled_and_deterministic():
    first = offline.build_report(REPORT_INPUT, "make a change log", "strict light")
    assert first == offline.build_report(REPORT_INPUT, "make a change log", "strict light")
    assert "no AI model was called" in first and "make a change log" in first


def test_the_offline_report_lists_headings_checkboxes_and_markers():
    report = offline.build_report(REPORT_INPUT, None, "strict light")
    assert f"| list.md | {len(REPORT_INPUT[0][1])} | 10 |" in report
    assert "- list.md:1 Title" in report and "- list.md:2   Part" in report and "not a heading" not in report
    assert "## Tasks done (2)" in report and "## Tasks open (1)" in report and "- list.md:4 open one" in report
    assert "## TODO / FIXME lines (2)" in report and "- list.md:10 FIXME later" in report
