"""Effort formula v1: the weights of the contract, computed exactly and rounded half up."""
from dataclasses import dataclass
from fractions import Fraction

VERSION = "v1"
# Names and values exactly as the contract's team-competition `formula.weights`.
WEIGHTS = {
    "activeMinute": 1.8,
    "locChanged": 0.18,
    "changedFile": 3,
    "architectureBonus": 24,
    "logicBonus": 14,
    "specificationUiBonus": 10,
}
_EXACT = {name: Fraction(str(value)) for name, value in WEIGHTS.items()}


@dataclass(frozen=True)
class EffortInputs:
    human_active_ms: int = 0
    loc_total: int = 0
    changed_files_count: int = 0
    architecture_change: bool = False
    logic_change: bool = False
    specification_ui_change: bool = False


def exact_effort(inputs: EffortInputs) -> Fraction:
    """The unrounded value, in exact arithmetic so 0.5 boundaries are not blurred by binary floats."""
    return (
        _EXACT["activeMinute"] * Fraction(inputs.human_active_ms, 60_000)
        + _EXACT["locChanged"] * inputs.loc_total
        + _EXACT["changedFile"] * inputs.changed_files_count
        + _EXACT["architectureBonus"] * int(inputs.architecture_change)
        + _EXACT["logicBonus"] * int(inputs.logic_change)
        + _EXACT["specificationUiBonus"] * int(inputs.specification_ui_change)
    )


def effort_units(inputs: EffortInputs) -> int:
    """round(...) of DESIGN.md, half up (x.5 -> x+1), not Python's round-half-even."""
    value = exact_effort(inputs)
    return int((value + Fraction(1, 2)).__floor__())


def round_half_up(value) -> int:
    return int((Fraction(value) + Fraction(1, 2)).__floor__())


def describe() -> dict:
    return {"version": VERSION, "weights": dict(WEIGHTS)}
