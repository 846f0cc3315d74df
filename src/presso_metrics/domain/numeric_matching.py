"""EventBridge numeric matching: the ``numeric`` operator and the numbers of ``anything-but``.

event-ruler compares numbers as ``ComparableNumber``s: values from -5.0e9 to +5.0e9 inclusive,
precise to six decimal places. A bound outside that range or with more decimal places is refused
("Value must be between -5.0E9 and 5.0E9, inclusive", "Only values upto 6 decimals are
supported"): so ``1e-400``, which a float would silently turn into ``0``, is refused rather than
matched as zero. A range is the ``Range`` of ``JsonRuleCompiler``: the lower bound first, then the
upper one; a one-sided bound is closed at the far end by the limit (``[">", x]`` is
``x < value <= 5.0e9``), so a bound at the limit leaves nothing to match and is refused ("Bottom
must be less than top"). An event's number outside the range is not a number to these matchers.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from presso_metrics.domain.pattern_values import ValueTest, is_number, show
from presso_metrics.exceptions import PatternError

LIMIT = 5_000_000_000  # ±5.0e9, inclusive
DECIMAL_PLACES = 6
_LOWER = {">": False, ">=": True}  # operator -> bound included
_UPPER = {"<": False, "<=": True}
_USAGE = 'numeric takes [op, number] or [">"|">=", low, "<"|"<=", high]'


def decimal_places(number: Decimal) -> int:
    """How many digits ``number`` has after the decimal point, trailing zeros ignored."""
    if number == 0:
        return 0
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite numbers only
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing_zeros))


def exact(number: int | float | Decimal) -> Decimal:
    """The decimal a number was written as (a float's shortest repr is its JSON text)."""
    if isinstance(number, float):
        return Decimal(repr(number))
    return Decimal(number)


def is_finite(number: int | float | Decimal) -> bool:
    if isinstance(number, Decimal):
        return number.is_finite()
    return math.isfinite(number)


def comparable(number: Any, where: str, what: str) -> float:
    """Check that ``number`` can be a bound of numeric matching and return it as a float."""
    if not is_number(number) or not is_finite(number):
        raise PatternError(where, f"{what} must be numbers, not {show(number)}")
    value = exact(number)
    if abs(value) > LIMIT:
        raise PatternError(
            where,
            f"{what} must lie within ±5.0e9, EventBridge's numeric range; {show(number)} does not",
        )
    if decimal_places(value) > DECIMAL_PLACES:
        raise PatternError(
            where,
            f"{show(number)} has more than {DECIMAL_PLACES} decimal places; EventBridge "
            f"compares numbers to {DECIMAL_PLACES} decimal places, so round it to at most that",
        )
    return float(value)


def in_range(v: Any) -> bool:
    """Whether ``v`` is a number numeric matching can compare (a JSON number within ±5.0e9)."""
    return is_number(v) and -LIMIT <= v <= LIMIT


def numeric(arg: Any, where: str) -> ValueTest:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise PatternError(where, _USAGE)
    ops = arg[0::2]
    for op in ops:
        if op not in ("=", *_LOWER, *_UPPER):
            raise PatternError(where, f"unknown comparison {show(op)}; use =, <, <=, > or >=")
    bounds = [comparable(n, where, "numeric bounds") for n in arg[1::2]]
    if ops[0] == "=":
        if len(ops) != 1:
            raise PatternError(where, '"=" cannot be combined with another comparison')
        equal = bounds[0]
        return lambda v: in_range(v) and float(v) == equal
    if len(ops) == 2:
        if ops[1] == "=":
            raise PatternError(where, '"=" cannot be combined with another comparison')
        if ops[0] in _LOWER and ops[1] in _LOWER:
            raise PatternError(where, "numeric has two lower bounds; keep one")
        if ops[0] in _UPPER and ops[1] in _UPPER:
            raise PatternError(where, "numeric has two upper bounds; keep one")
        if ops[0] in _UPPER:
            raise PatternError(
                where,
                "write the lower bound first, as EventBridge requires: "
                f"[{show(ops[1])}, {show(arg[3])}, {show(ops[0])}, {show(arg[1])}]",
            )
    low, low_in, high, high_in = float(-LIMIT), True, float(LIMIT), True
    for op, bound in zip(ops, bounds, strict=True):
        if op in _LOWER:
            low, low_in = bound, _LOWER[op]
        else:
            high, high_in = bound, _UPPER[op]
    if low >= high:
        if len(ops) == 2:
            raise PatternError(where, "the lower bound must be below the upper bound")
        raise PatternError(
            where,
            f"[{show(ops[0])}, {show(arg[1])}] matches nothing: EventBridge matches numbers "
            "within ±5.0e9 only and needs room between the bound and that limit",
        )

    def test(v: Any) -> bool:
        if not in_range(v):
            return False
        x = float(v)
        if not (x >= low if low_in else x > low):
            return False
        return x <= high if high_in else x < high

    return test


def excluded_numbers(values: list[Any], where: str) -> ValueTest:
    """``anything-but`` numbers: matches every value but the numbers given (and their other
    spellings: 5 excludes 5.0); strings, booleans, null and out-of-range numbers all match."""
    excluded = frozenset(comparable(n, where, "anything-but numbers") for n in values)
    return lambda v: not (in_range(v) and float(v) in excluded)
