"""Effort formula v1 and the team-competition date range, as plain functions."""
from datetime import date

import pytest

from seecodes.activity import formula
from seecodes.activity.board import DateRange, resolve_range
from seecodes.activity.service import snapshot_inputs
from seecodes.errors import Invalid

from ..contract_examples import CONTRACT_WEIGHTS, SNAPSHOT_EXAMPLE, SNAPSHOT_EXAMPLE_EFFORT

E = formula.EffortInputs


def test_weights_are_the_contracts():
    assert formula.describe() == {"version": "v1", "weights": CONTRACT_WEIGHTS}


def test_contract_example_scores_by_the_formula():
    # 1.8*7 + 0.18*39 + 3*2 + 14 = 12.6 + 7.02 + 6 + 14 = 39.62
    assert formula.effort_units(snapshot_inputs(SNAPSHOT_EXAMPLE)) == SNAPSHOT_EXAMPLE_EFFORT


@pytest.mark.parametrize("inputs, expected", [
    (E(), 0),
    (E(human_active_ms=60_000), 2),  # 1.8
    (E(human_active_ms=900_000), 27),  # 1.8*15
    (E(loc_total=100), 18),
    (E(changed_files_count=5), 15),
    (E(architecture_change=True), 24),
    (E(logic_change=True), 14),
    (E(specification_ui_change=True), 10),
    (E(150_000, 10, 1, True, True, True), 57),  # 4.5 + 1.8 + 3 + 24 + 14 + 10 = 57.3
])
def test_hand_computed_values(inputs, expected):
    assert formula.effort_units(inputs) == expected


def test_half_rounds_up_not_to_even():
    assert formula.effort_units(E(loc_total=25)) == 5  # 4.5; round() would give 4
    assert formula.effort_units(E(loc_total=75)) == 14  # 13.5


def test_exact_arithmetic_keeps_half_boundaries():
    # 1.8 * 2.5 min = 4.5 exactly; binary floats would give 4.499999...
    assert formula.exact_effort(E(human_active_ms=150_000)) == formula.Fraction(9, 2)
    assert formula.effort_units(E(human_active_ms=150_000)) == 5


def test_loc_total_defaults_to_added_plus_removed():
    assert snapshot_inputs({"locAdded": 28, "locRemoved": 11}).loc_total == 39


def test_changed_files_count_defaults_to_distinct_changed_files():
    assert snapshot_inputs({"changedFiles": ["a.ts", "b.ts", "a.ts"]}).changed_files_count == 2


def test_explicit_counts_win_over_defaults():
    inputs = snapshot_inputs({"locAdded": 1, "locRemoved": 1, "locTotal": 10, "changedFiles": ["a"],
                              "changedFilesCount": 4})
    assert (inputs.loc_total, inputs.changed_files_count) == (10, 4)


TODAY = date(2026, 4, 15)


def test_default_range_is_the_current_month():
    assert resolve_range(None, None, TODAY) == DateRange(date(2026, 4, 1), date(2026, 4, 30))


def test_only_end_date_starts_on_the_first_of_its_month():
    assert resolve_range(None, date(2026, 2, 10), TODAY) == DateRange(date(2026, 2, 1), date(2026, 2, 10))


def test_only_start_date_runs_to_the_end_of_the_current_month():
    assert resolve_range(date(2026, 1, 5), None, TODAY) == DateRange(date(2026, 1, 5), date(2026, 4, 30))


def test_single_day_range_is_allowed():
    scope = resolve_range(TODAY, TODAY, TODAY)
    assert (scope.end_before - scope.start_at).days == 1


def test_reversed_range_is_invalid():
    with pytest.raises(Invalid):
        resolve_range(date(2026, 4, 2), date(2026, 4, 1), TODAY)


def test_range_longer_than_a_year_is_invalid():
    with pytest.raises(Invalid):
        resolve_range(date(2025, 1, 1), date(2026, 4, 1), TODAY)
