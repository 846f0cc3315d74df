"""EventBridge event patterns: validation and matching.

Follows the documented EventBridge pattern language and event-ruler, the library behind it:

- A pattern is a JSON object. A key maps to a nested object (match deeper) or to a non-empty
  array of value matchers, of which any may match ("arrays as any-of"). The value matchers are in
  ``pattern_operators`` (and ``numeric_matching``, ``wildcards``, ``ignore_case``,
  ``ip_addresses``); ``exists`` is here, as it is about the field rather than a value.
- ``$or`` holds two or more sub-patterns, at any level. All the ``$or`` arrays of a pattern may
  combine into at most 1000 rule combinations (the product of their lengths), as EventBridge
  allows.
- If the event's field is an array, the field matches when any element does; matches inside an
  array of objects must all come from the same element (event-ruler's array consistency).
- Matchers apply to leaves only: an object in the event is not a value, so ``exists: true`` does
  not match it and ``exists: false`` does.

A malformed pattern raises :class:`PatternError` naming the path of the bad part and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from presso_metrics.domain.ip_addresses import Address, parse_address
from presso_metrics.domain.paths import MISSING
from presso_metrics.domain.pattern_operators import OPERATORS, check_literal, literal, operator
from presso_metrics.domain.pattern_union import union
from presso_metrics.domain.pattern_values import Value, ValueTest, json_type, show
from presso_metrics.exceptions import PatternError

__all__ = ["MAX_OR_COMBINATIONS", "EventPattern", "compile_pattern", "route_key", "union"]

ObjectTest = Callable[[Mapping[str, Any]], bool]

_SCALARS = frozenset({str, int, float, bool, type(None)})
CACHE_LIMIT = 4096
MAX_OR_COMBINATIONS = 1000


def route_key(event: Mapping[str, Any], keys: Sequence[str]) -> tuple[Any, ...] | None:
    """A cache key for the values of ``keys`` in ``event``, or None if one is unhashable.

    Each value is keyed with its type, so values that Python holds equal but JSON does not
    (``true``, ``1`` and ``1.0``; ``false`` and ``0``) never share an entry, and an absent field
    differs from ``null``.
    """
    key = []
    for k in keys:
        v = event.get(k, MISSING)
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
    """Validate ``pattern`` (a parsed JSON object) and return a matcher for it.

    Numbers may be given as ``Decimal`` (``json.loads(text, parse_float=Decimal)``) so that
    bounds such as ``1e-400`` are checked as written rather than as the float they round to.
    """
    if not isinstance(pattern, Mapping):
        raise PatternError("", f"a pattern must be a JSON object, not {json_type(pattern)}")
    if not pattern:
        raise PatternError("", "an empty pattern would match every event; name at least one field")
    test = _object(pattern, "")
    combinations = _or_combinations(pattern)
    if combinations > MAX_OR_COMBINATIONS:
        raise PatternError(
            "$or",
            f"the $or arrays of this pattern combine into more than {MAX_OR_COMBINATIONS} rule "
            "combinations (the product of their lengths), which EventBridge refuses; list the "
            'alternative values of one field in its array (["a", "b"]) rather than in $or, '
            "or split the pattern",
        )
    return EventPattern(pattern, test, _top_level_keys(pattern))


def _or_combinations(pattern: Mapping[str, Any]) -> int:
    """The product of the lengths of every ``$or`` array in ``pattern``, counted until it
    passes the limit."""
    total = 1
    for key, spec in pattern.items():
        if key == "$or":
            total *= len(spec)
            for alternative in spec:
                total *= _or_combinations(alternative)
                if total > MAX_OR_COMBINATIONS:
                    return total
        elif isinstance(spec, Mapping):
            total *= _or_combinations(spec)
        if total > MAX_OR_COMBINATIONS:
            return total
    return total


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
                f"a field's values must be given as an array (e.g. [{show(spec)}]), "
                f"not as {json_type(spec)}",
            )

    def test(obj: Mapping[str, Any]) -> bool:
        for key, nested, leaf in fields:
            value = obj.get(key, MISSING)
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
    if value is MISSING or isinstance(value, dict | Mapping):
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
                value_tests.append(operator(op, arg, item_where))
        elif isinstance(item, list):
            raise PatternError(item_where, "arrays cannot be nested inside a field's values")
        else:
            check_literal(item, item_where)
            value_tests.append(literal(item))

    def test(value: Any) -> bool:
        values = _leaf_values(value)
        for want in exists:
            if want == bool(values):
                return True
        return any(t(v) for v in values for t in value_tests)

    if not exists and all(isinstance(item, str) for item in spec):
        return _literal_strings(spec, test)
    return test


def _literal_strings(strings: list[str], test: ValueTest) -> ValueTest:
    """Only string values (the common case): a set lookup for a string field, and for strings
    that are IP addresses, a lookup of the address the event's string spells."""
    addresses: frozenset[Address] = frozenset(
        a for a in (parse_address(s) for s in strings) if a is not None
    )
    wanted = frozenset(strings)

    def literal_strings(value: Any) -> bool:
        if type(value) is str:
            return value in wanted or (bool(addresses) and parse_address(value) in addresses)
        return test(value)

    return literal_strings
