"""Combining the event patterns of several metrics into one rule pattern."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from presso_metrics.exceptions import PatternError


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
