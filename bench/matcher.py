"""The event-pattern matcher: adversarial wildcards, and the plain cases the pipeline runs.

python -m bench.matcher    prints the figures; ``run()`` returns them (milliseconds per match,
the best of a few rounds, so a busy machine inflates them less).

``wildcard_backtracking_regex_100_ms`` is the reference: the same five-star wildcard as the
backtracking regular expression the matcher used to compile it to, against only 100 characters
(200 took about 55 s; 10,000 would not finish).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from presso_metrics.domain.patterns import compile_pattern

FIVE_STARS = "*a*a*a*a*a*b"
TWENTY_STARS = "*a" * 19 + "*b"

ORDER_EVENT: dict[str, Any] = {
    "source": "awsserverlessda.serverlesspresso",
    "detail-type": "OrderManager.WaitingCompletion",
    "detail": {"orderId": "1", "drinkOrder": {"drink": "Latte", "modifiers": ["Oat"]}},
}


def best_ms(call: Callable[[], object], rounds: int = 5, number: int = 1) -> float:
    """The fastest of ``rounds`` timings of ``number`` calls, per call, in milliseconds."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            call()
        best = min(best, (time.perf_counter() - start) / number)
    return round(best * 1000, 4)


def run() -> dict[str, float]:
    def field_matcher(spec: list[Any]) -> Callable[[str], bool]:
        # A nested field: answers about top-level fields are cached, and a cache hit times nothing.
        pattern = compile_pattern({"d": {"a": spec}})
        return lambda value: pattern.matches({"d": {"a": value}})

    five = field_matcher([{"wildcard": FIVE_STARS}])
    twenty = field_matcher([{"wildcard": TWENTY_STARS}])
    not_twenty = field_matcher([{"anything-but": {"wildcard": TWENTY_STARS}}])
    scan = field_matcher([{"wildcard": "*a" * 19 + "*c*"}])  # finds 19 'a's, then seeks a 'c'
    long_a = "a" * 10_000
    regex = re.compile(re.escape(FIVE_STARS).replace(r"\*", ".*"), re.DOTALL)

    sales = compile_pattern(
        {
            "source": ["awsserverlessda.serverlesspresso"],
            "detail-type": ["OrderManager.WaitingCompletion"],
        }
    )
    completions = compile_pattern({"detail-type": [{"wildcard": "OrderManager.Order*COMPLETED"}]})
    by_drink = compile_pattern({"detail": {"drinkOrder": {"drink": ["Latte", "Mocha"]}}})
    completed = {**ORDER_EVENT, "detail-type": "OrderManager.OrderNYC-COMPLETED"}
    return {
        "wildcard_adversarial_200_ms": best_ms(lambda: five("a" * 200)),
        "wildcard_adversarial_10k_ms": best_ms(lambda: five(long_a)),
        "wildcard_20_stars_10k_ms": best_ms(lambda: twenty(long_a)),
        "anything_but_wildcard_20_stars_10k_ms": best_ms(lambda: not_twenty(long_a)),
        "wildcard_20_stars_full_scan_10k_ms": best_ms(lambda: scan(long_a)),
        "wildcard_backtracking_regex_100_ms": best_ms(lambda: regex.fullmatch("a" * 100), rounds=1),
        "exact_top_level_cached_ms": best_ms(lambda: sales.matches(ORDER_EVENT), number=10_000),
        "wildcard_detail_type_cached_ms": best_ms(
            lambda: completions.matches(completed), number=10_000
        ),
        "nested_field_uncached_ms": best_ms(lambda: by_drink.matches(ORDER_EVENT), number=10_000),
    }


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:42} {value:>12.4f}")
