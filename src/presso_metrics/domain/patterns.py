"""EventBridge event patterns: validation and matching.

Follows the documented EventBridge pattern language (and event-ruler, the library behind it):

- A pattern is a JSON object. A key maps to a nested object (match deeper) or to a non-empty
  array of value matchers, of which any may match ("arrays as any-of").
- A value matcher is a literal (string, number, boolean, null) or a one-key object: ``prefix``,
  ``suffix`` (each optionally ``{"equals-ignore-case": ...}``), ``equals-ignore-case``,
  ``wildcard``, ``anything-but`` (a value, a list, or ``prefix``/``suffix``/
  ``equals-ignore-case``/``wildcard``), ``numeric``, ``exists``, ``cidr``.
- ``$or`` holds two or more sub-patterns, at any level.
- If the event's field is an array, the field matches when any element does; matches inside an
  array of objects must all come from the same element (event-ruler's array consistency).
- Matchers apply to leaves only: an object in the event is not a value, so ``exists: true`` does
  not match it and ``exists: false`` does.

A malformed pattern raises :class:`PatternError` naming the path of the bad part and the fix.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from presso_metrics.domain.wildcards import parse_wildcard
from presso_metrics.exceptions import PatternError

Value = Any  # a JSON scalar: str, int, float, bool or None
ValueTest = Callable[[Value], bool]
ObjectTest = Callable[[Mapping[str, Any]], bool]

_MISSING = object()
_SCALARS = frozenset({str, int, float, bool, type(None)})
NUMERIC_LIMIT = 5.0e9  # EventBridge's numeric matching range: -5.0e9 to +5.0e9 inclusive
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


CACHE_LIMIT = 4096


def route_key(event: Mapping[str, Any], keys: Sequence[str]) -> tuple[Any, ...] | None:
    """A cache key for the values of ``keys`` in ``event``, or None if one is unhashable.

    Each value is keyed with its type, so values that Python holds equal but JSON does not
    (``true``, ``1`` and ``1.0``; ``false`` and ``0``) never share an entry, and an absent field
    differs from ``null``.
    """
    key = []
    for k in keys:
        v = event.get(k, _MISSING)
        if type(v) not in _SCALARS:
            try:
                hash(v)
            except TypeError:  # an array or an object
                return None
        key.append((type(v), v))
    return tuple(key)


@dataclass(frozen=True)
class EventPattern:
    """A validated event pattern. ``matches(event)`` is pure and thread-safe.

    A pattern that reads only top-level fields (``source``, ``detail-type``, ...) gives the
    same answer for the same values of those fields, so its answers are cached by them.
    """

    source: Mapping[str, Any]
    _test: ObjectTest
    top_level_keys: tuple[str, ...] | None = None  # the fields read, if all are top-level
    _cache: dict[tuple[Any, ...], bool] = field(default_factory=dict, compare=False, repr=False)

    def matches(self, event: Mapping[str, Any]) -> bool:
        keys = self.top_level_keys
        if keys is None:
            return self._test(event)
        key = route_key(event, keys)
        if key is None:
            return self._test(event)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._test(event)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = cached
        return cached


def compile_pattern(pattern: Any) -> EventPattern:
    """Validate ``pattern`` (a parsed JSON object) and return a matcher for it."""
    if not isinstance(pattern, Mapping):
        raise PatternError("", f"a pattern must be a JSON object, not {_json_type(pattern)}")
    if not pattern:
        raise PatternError("", "an empty pattern would match every event; name at least one field")
    test = _object(pattern, "")
    return EventPattern(pattern, test, _top_level_keys(pattern))


def _top_level_keys(pattern: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The top-level fields a pattern reads, if it reads nothing deeper; else None."""
    keys: set[str] = set()
    for key, spec in pattern.items():
        if key == "$or":
            for alternative in spec:
                inner = _top_level_keys(alternative)
                if inner is None:
                    return None
                keys.update(inner)
        elif isinstance(spec, Mapping):
            return None
        else:
            keys.add(key)
    return tuple(sorted(keys))


def union(patterns: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One pattern that matches what any of ``patterns`` matches.

    Patterns that differ only in their ``detail-type`` values are merged into one list (what a
    human would write); anything else becomes ``{"$or": [...]}``.
    """
    if not patterns:
        raise PatternError("", "no patterns to combine")
    unique: list[Mapping[str, Any]] = []
    for p in patterns:
        if p not in unique:
            unique.append(p)
    if len(unique) == 1:
        return dict(unique[0])
    rest = [{k: v for k, v in p.items() if k != "detail-type"} for p in unique]
    if all("detail-type" in p for p in unique) and all(r == rest[0] for r in rest):
        merged: list[Any] = []
        for p in unique:
            for value in p["detail-type"]:
                if value not in merged:
                    merged.append(value)
        return {**rest[0], "detail-type": merged}
    return {"$or": [dict(p) for p in unique]}


# --- compilation -------------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(pattern: Mapping[str, Any], path: str) -> ObjectTest:
    fields: list[tuple[str, ObjectTest | None, ValueTest | None]] = []
    alternatives: list[list[ObjectTest]] = []
    for key, spec in pattern.items():
        where = _join(path, key)
        if not isinstance(key, str):
            raise PatternError(where, "field names must be strings")
        if key == "$or":
            alternatives.append(_or(spec, where))
        elif isinstance(spec, Mapping):
            if not spec:
                raise PatternError(
                    where, "an empty object matches nothing; give it fields or remove it"
                )
            fields.append((key, _object(spec, where), None))
        elif isinstance(spec, list):
            fields.append((key, None, _leaf(spec, where)))
        else:
            raise PatternError(
                where,
                f"a field's values must be given as an array (e.g. [{_show(spec)}]), "
                f"not as {_json_type(spec)}",
            )

    def test(obj: Mapping[str, Any]) -> bool:
        for key, nested, leaf in fields:
            value = obj.get(key, _MISSING)
            if nested is not None:
                if not _match_nested(nested, value):
                    return False
            elif leaf is not None and not leaf(value):
                return False
        return all(any(alt(obj) for alt in group) for group in alternatives)

    return test


def _or(spec: Any, where: str) -> list[ObjectTest]:
    if not isinstance(spec, list) or len(spec) < 2:
        raise PatternError(where, "$or takes an array of at least two patterns")
    tests = []
    for i, sub in enumerate(spec):
        sub_where = f"{where}[{i}]"
        if not isinstance(sub, Mapping) or not sub:
            raise PatternError(sub_where, "each $or alternative must be a non-empty object")
        reserved = [k for k in sub if k in OPERATORS]
        if reserved:
            raise PatternError(
                sub_where,
                f"'{reserved[0]}' is a matcher, not a field; put it in a field's array",
            )
        tests.append(_object(sub, sub_where))
    return tests


def _match_nested(nested: ObjectTest, value: Any) -> bool:
    if isinstance(value, Mapping):
        return nested(value)
    if isinstance(value, list):
        elements = [e for e in _flatten(value) if isinstance(e, Mapping)]
        if elements:
            return any(nested(e) for e in elements)
    # A missing field (or a scalar where an object was expected) has no leaves below it:
    # only absence tests (exists: false) can match there.
    return nested({})


def _flatten(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, list):
            out.extend(_flatten(v))
        else:
            out.append(v)
    return out


def _leaf_values(value: Any) -> list[Value]:
    """The leaf values of an event field: scalars only; arrays are flattened."""
    if value is _MISSING or isinstance(value, dict | Mapping):
        return []
    if isinstance(value, list):
        return [v for v in _flatten(value) if not isinstance(v, dict | Mapping)]
    return [value]


def _leaf(spec: list[Any], where: str) -> ValueTest:
    if not spec:
        raise PatternError(where, "an empty array matches nothing; list at least one value")
    value_tests: list[ValueTest] = []
    exists: list[bool] = []
    for i, item in enumerate(spec):
        item_where = f"{where}[{i}]"
        if isinstance(item, Mapping):
            if len(item) != 1:
                raise PatternError(
                    item_where,
                    "a matcher object has exactly one key, one of: " + ", ".join(OPERATORS),
                )
            ((op, arg),) = item.items()
            if op == "exists":
                if not isinstance(arg, bool):
                    raise PatternError(item_where, "exists takes true or false")
                exists.append(arg)
            else:
                value_tests.append(_operator(op, arg, item_where))
        elif isinstance(item, list):
            raise PatternError(item_where, "arrays cannot be nested inside a field's values")
        else:
            _check_literal(item, item_where)
            value_tests.append(_literal(item))

    def test(value: Any) -> bool:
        values = _leaf_values(value)
        for want in exists:
            if want == bool(values):
                return True
        return any(t(v) for v in values for t in value_tests)

    strings = [item for item in spec if isinstance(item, str)]
    if not exists and len(strings) == len(spec):
        # Only string values (the common case): a set lookup for a string field.
        wanted = frozenset(strings)

        def literal_strings(value: Any) -> bool:
            if type(value) is str:
                return value in wanted
            return test(value)

        return literal_strings
    return test


def _check_literal(item: Any, where: str) -> None:
    if isinstance(item, float) and not math.isfinite(item):
        raise PatternError(where, "numbers must be finite")
    if item is not None and not isinstance(item, str | int | float | bool):
        raise PatternError(where, f"unsupported value of type {type(item).__name__}")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _literal(expected: Value) -> ValueTest:
    if expected is None:
        return lambda v: v is None
    if isinstance(expected, bool):
        return lambda v: isinstance(v, bool) and v is expected
    if _is_number(expected):
        return lambda v: _is_number(v) and v == expected
    return lambda v: isinstance(v, str) and v == expected


def _operator(op: str, arg: Any, where: str) -> ValueTest:
    builders: dict[str, Callable[[Any, str], ValueTest]] = {
        "prefix": _prefix,
        "suffix": _suffix,
        "equals-ignore-case": _equals_ignore_case,
        "wildcard": _wildcard,
        "anything-but": _anything_but,
        "numeric": _numeric,
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
        raise PatternError(where, f"{what} takes a string, not {_json_type(arg)}")
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


def _fold(s: str) -> str:
    return s.casefold()


def _prefix(arg: Any, where: str) -> ValueTest:
    text, ignore_case = _ignore_case_arg(arg, where, "prefix")
    if ignore_case:
        folded = _fold(text)
        return lambda v: isinstance(v, str) and _fold(v).startswith(folded)
    return lambda v: isinstance(v, str) and v.startswith(text)


def _suffix(arg: Any, where: str) -> ValueTest:
    text, ignore_case = _ignore_case_arg(arg, where, "suffix")
    if ignore_case:
        folded = _fold(text)
        return lambda v: isinstance(v, str) and _fold(v).endswith(folded)
    return lambda v: isinstance(v, str) and v.endswith(text)


def _equals_ignore_case(arg: Any, where: str) -> ValueTest:
    folded = _fold(_string_arg(arg, where, "equals-ignore-case"))
    return lambda v: isinstance(v, str) and _fold(v) == folded


def _wildcard(arg: Any, where: str) -> ValueTest:
    pattern = parse_wildcard(_string_arg(arg, where, "wildcard"), where)
    return lambda v: isinstance(v, str) and pattern.matches(v)


def _anything_but(arg: Any, where: str) -> ValueTest:
    excluded: ValueTest
    if isinstance(arg, Mapping):
        if len(arg) != 1:
            raise PatternError(
                where,
                "anything-but takes a value, a list, or one of "
                "prefix, suffix, equals-ignore-case, wildcard",
            )
        ((op, inner),) = arg.items()
        inner_where = f"{where}.{op}"
        if op == "prefix":
            p = _string_arg(inner, inner_where, "anything-but prefix")
            excluded = lambda v: v.startswith(p)  # noqa: E731
        elif op == "suffix":
            s = _string_arg(inner, inner_where, "anything-but suffix")
            excluded = lambda v: v.endswith(s)  # noqa: E731
        elif op == "equals-ignore-case":
            words = {_fold(w) for w in _string_list(inner, inner_where, op)}
            excluded = lambda v: _fold(v) in words  # noqa: E731
        elif op == "wildcard":
            patterns = [
                parse_wildcard(w, inner_where) for w in _string_list(inner, inner_where, op)
            ]
            excluded = lambda v: any(p.matches(v) for p in patterns)  # noqa: E731
        else:
            raise PatternError(
                inner_where,
                f"anything-but cannot hold '{op}'; "
                "use prefix, suffix, equals-ignore-case or wildcard",
            )
        return lambda v: isinstance(v, str) and not excluded(v)
    values = arg if isinstance(arg, list) else [arg]
    if not values:
        raise PatternError(where, "anything-but needs at least one value")
    if all(isinstance(v, str) for v in values):
        strings = set(values)
        return lambda v: isinstance(v, str) and v not in strings
    if all(_is_number(v) for v in values):
        numbers = [float(v) for v in values]
        return lambda v: _is_number(v) and float(v) not in numbers
    raise PatternError(
        where, "anything-but takes a string, a number, or a list of only strings or only numbers"
    )


def _string_list(arg: Any, where: str, what: str) -> list[str]:
    values = arg if isinstance(arg, list) else [arg]
    if not values or not all(isinstance(v, str) for v in values):
        raise PatternError(where, f"{what} takes a string or a non-empty list of strings")
    return values


_LOWER = {">": False, ">=": True}
_UPPER = {"<": False, "<=": True}


def _numeric(arg: Any, where: str) -> ValueTest:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise PatternError(where, 'numeric takes [op, number] or [">"|">=", low, "<"|"<=", high]')
    pairs = [(arg[i], arg[i + 1]) for i in range(0, len(arg), 2)]
    low: tuple[float, bool] | None = None
    high: tuple[float, bool] | None = None
    equal: float | None = None
    for op, number in pairs:
        if not _is_number(number) or not math.isfinite(number):
            raise PatternError(where, f"numeric bounds must be numbers, not {_show(number)}")
        if not -NUMERIC_LIMIT <= number <= NUMERIC_LIMIT:
            raise PatternError(where, f"numeric bounds must lie within ±{NUMERIC_LIMIT:.1e}")
        if op == "=":
            if len(pairs) != 1:
                raise PatternError(where, '"=" cannot be combined with another comparison')
            equal = float(number)
        elif op in _LOWER:
            if low is not None:
                raise PatternError(where, "numeric has two lower bounds")
            low = (float(number), _LOWER[op])
        elif op in _UPPER:
            if high is not None:
                raise PatternError(where, "numeric has two upper bounds")
            high = (float(number), _UPPER[op])
        else:
            raise PatternError(where, f"unknown comparison {_show(op)}; use =, <, <=, > or >=")
    if low is not None and high is not None and low[0] >= high[0]:
        raise PatternError(where, "the lower bound must be below the upper bound")

    def test(v: Any) -> bool:
        if not _is_number(v):
            return False
        x = float(v)
        if equal is not None:
            return x == equal
        if low is not None and not (x >= low[0] if low[1] else x > low[0]):
            return False
        return high is None or (x <= high[0] if high[1] else x < high[0])

    return test


def _cidr(arg: Any, where: str) -> ValueTest:
    text = _string_arg(arg, where, "cidr")
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as e:
        raise PatternError(where, f"not a CIDR block ({e}); write it like 10.0.0.0/24") from None

    def test(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        try:
            address = ipaddress.ip_address(v)
        except ValueError:
            return False
        return address.version == network.version and address in network

    return test


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, str):
        return "a string"
    if _is_number(v):
        return "a number"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, Mapping):
        return "an object"
    return type(v).__name__


def _show(v: Any) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
