"""The value matchers of an event pattern: what one entry of a field's array asks of one value.

An entry is a literal (string, number, boolean, null) or a one-key object: ``prefix``, ``suffix``
(each optionally ``{"equals-ignore-case": ...}``), ``equals-ignore-case``, ``wildcard``,
``anything-but``, ``numeric``, ``cidr`` (``exists`` is about the field, not a value, and lives in
``patterns``). Each builder validates its argument, raising :class:`PatternError` with the path
and the fix, and returns a test of one leaf value. Types never mix: only strings match ``prefix``
or ``5``'s string ``"5"``; but ``anything-but`` matches every value it does not exclude, whatever
its type (event-ruler compares the value's JSON text, quotes included, against the excluded ones).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from presso_metrics.domain.ignore_case import IgnoreCase
from presso_metrics.domain.ip_addresses import parse_address, parse_cidr
from presso_metrics.domain.numeric_matching import excluded_numbers, is_finite, numeric
from presso_metrics.domain.pattern_values import Value, ValueTest, is_number, json_type
from presso_metrics.domain.wildcards import parse_wildcard
from presso_metrics.exceptions import PatternError

OPERATORS = (
    "prefix",
    "suffix",
    "equals-ignore-case",
    "wildcard",
    "anything-but",
    "numeric",
    "exists",
    "cidr",
)
_ANYTHING_BUT_FORMS = "prefix, suffix, equals-ignore-case or wildcard"


def check_literal(item: Any, where: str) -> None:
    if is_number(item) and not is_finite(item):
        raise PatternError(where, "numbers must be finite")
    if item is not None and not isinstance(item, str | int | float | Decimal | bool):
        raise PatternError(where, f"unsupported value of type {type(item).__name__}")


def literal(expected: Value) -> ValueTest:
    """An exact value. A number matches any spelling of it (5 and 5.0); a string that is an IP
    address matches that address however the event writes it (``JsonRuleCompiler`` turns it
    into a one-address range)."""
    if expected is None:
        return lambda v: v is None
    if isinstance(expected, bool):
        return lambda v: isinstance(v, bool) and v is expected
    if is_number(expected):
        number = float(expected) if isinstance(expected, Decimal) else expected
        return lambda v: is_number(v) and v == number
    address = parse_address(expected)
    if address is not None:
        return lambda v: isinstance(v, str) and (v == expected or parse_address(v) == address)
    return lambda v: isinstance(v, str) and v == expected


def operator(op: str, arg: Any, where: str) -> ValueTest:
    builders: dict[str, Callable[[Any, str], ValueTest]] = {
        "prefix": _prefix,
        "suffix": _suffix,
        "equals-ignore-case": _equals_ignore_case,
        "wildcard": _wildcard,
        "anything-but": _anything_but,
        "numeric": numeric,
        "cidr": _cidr,
    }
    builder = builders.get(op)
    if builder is None:
        raise PatternError(
            where, f"unknown matcher '{op}'; the matchers are: " + ", ".join(OPERATORS)
        )
    return builder(arg, f"{where}.{op}")


def _string_arg(arg: Any, where: str, what: str) -> str:
    if not isinstance(arg, str):
        raise PatternError(where, f"{what} takes a string, not {json_type(arg)}")
    return arg


def _ignore_case_arg(arg: Any, where: str, what: str) -> tuple[str, bool]:
    """``"abc"`` or ``{"equals-ignore-case": "abc"}`` (for prefix and suffix)."""
    if isinstance(arg, Mapping):
        if set(arg) != {"equals-ignore-case"}:
            raise PatternError(
                where, f'{what} takes a string or {{"equals-ignore-case": "<string>"}}'
            )
        return _string_arg(arg["equals-ignore-case"], where, what), True
    return _string_arg(arg, where, what), False


def _prefix(arg: Any, where: str) -> ValueTest:
    text, ignore_case = _ignore_case_arg(arg, where, "prefix")
    if ignore_case:
        folded = IgnoreCase(text)
        return lambda v: isinstance(v, str) and folded.starts(v)
    return lambda v: isinstance(v, str) and v.startswith(text)


def _suffix(arg: Any, where: str) -> ValueTest:
    text, ignore_case = _ignore_case_arg(arg, where, "suffix")
    if ignore_case:
        folded = IgnoreCase(text)
        return lambda v: isinstance(v, str) and folded.ends(v)
    return lambda v: isinstance(v, str) and v.endswith(text)


def _equals_ignore_case(arg: Any, where: str) -> ValueTest:
    folded = IgnoreCase(_string_arg(arg, where, "equals-ignore-case"))
    return lambda v: isinstance(v, str) and folded.equals(v)


def _wildcard(arg: Any, where: str) -> ValueTest:
    pattern = parse_wildcard(_string_arg(arg, where, "wildcard"), where)
    return lambda v: isinstance(v, str) and pattern.matches(v)


def _cidr(arg: Any, where: str) -> ValueTest:
    block = parse_cidr(_string_arg(arg, where, "cidr"), where)
    return lambda v: isinstance(v, str) and block.contains(v)


def _anything_but(arg: Any, where: str) -> ValueTest:
    if isinstance(arg, Mapping):
        excluded = _excluded_strings(arg, where)
        return lambda v: not (isinstance(v, str) and excluded(v))
    values = arg if isinstance(arg, list) else [arg]
    if not values:
        raise PatternError(where, "anything-but needs at least one value")
    if all(isinstance(v, str) for v in values):
        strings = frozenset(values)
        return lambda v: not (isinstance(v, str) and v in strings)
    if all(is_number(v) for v in values):
        return excluded_numbers(values, where)
    raise PatternError(
        where, "anything-but takes a string, a number, or a list of only strings or only numbers"
    )


def _excluded_strings(arg: Mapping[str, Any], where: str) -> Callable[[str], bool]:
    """The strings ``{"anything-but": {<form>: ...}}`` excludes."""
    if len(arg) != 1:
        raise PatternError(
            where,
            f"anything-but takes a value, a list, or one of {_ANYTHING_BUT_FORMS}",
        )
    ((form, inner),) = arg.items()
    inner_where = f"{where}.{form}"
    if form not in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
        raise PatternError(
            inner_where, f"anything-but cannot hold '{form}'; use {_ANYTHING_BUT_FORMS}"
        )
    texts = _string_list(inner, inner_where, f"anything-but {form}")
    if form in ("prefix", "suffix") and "" in texts:
        raise PatternError(
            inner_where,
            f"an empty anything-but {form} would exclude every string (EventBridge refuses it: "
            f'"Null prefix/suffix not allowed"); give the {form} to exclude, or use '
            '[{"exists": true}] to match any value',
        )
    if form == "prefix":
        prefixes = tuple(texts)
        return lambda v: v.startswith(prefixes)
    if form == "suffix":
        suffixes = tuple(texts)
        return lambda v: v.endswith(suffixes)
    if form == "equals-ignore-case":
        words = [IgnoreCase(t) for t in texts]
        return lambda v: any(w.equals(v) for w in words)
    patterns = [parse_wildcard(t, inner_where) for t in texts]
    return lambda v: any(p.matches(v) for p in patterns)


def _string_list(arg: Any, where: str, what: str) -> list[str]:
    values = arg if isinstance(arg, list) else [arg]
    if not values or not all(isinstance(v, str) for v in values):
        raise PatternError(where, f"{what} takes a string or a non-empty list of strings")
    return values
