"""The MetricsStore contract: every adapter counts each event exactly once."""

from __future__ import annotations

from presso_metrics.domain.caps import DimensionCap
from presso_metrics.domain.counting import CountedEvent, CounterKey
from tests.contract.backends import Backend


def sale(event_id: str, drink: str, day: str = "2022-10-14") -> CountedEvent:
    return CountedEvent(
        event_id,
        {CounterKey("Aggregate", day, drink): 1, CounterKey("Aggregate", day, "TotalSales"): 1},
    )


def values(backend_store: object, partition: str = "Aggregate") -> dict[str, int]:
    counters = backend_store.read(partition, "0000", "9999")  # type: ignore[attr-defined]
    return {c.key.sort_key: c.value for c in counters}


def test_apply_counts_new_events(backend: Backend) -> None:
    store = backend.store()
    result = store.apply([sale("e1", "Latte"), sale("e2", "Latte"), sale("e3", "Mocha")])
    assert result.counted == {"e1", "e2", "e3"} and not result.duplicates and not result.failed
    assert values(store) == {
        "2022-10-14#Latte": 2,
        "2022-10-14#Mocha": 1,
        "2022-10-14#TotalSales": 3,
    }


def test_events_already_counted_are_duplicates(backend: Backend) -> None:
    store = backend.store()
    store.apply([sale("e1", "Latte")])
    result = store.apply([sale("e1", "Latte"), sale("e2", "Mocha")])
    assert result.counted == {"e2"} and result.duplicates == {"e1"}
    assert values(store)["2022-10-14#TotalSales"] == 2
    assert store.apply([sale("e1", "Latte"), sale("e2", "Mocha")]).counted == set()
    assert values(store)["2022-10-14#TotalSales"] == 2


def test_counts_are_summed_by_counter(backend: Backend) -> None:
    store = backend.store()
    store.apply([sale(f"e{i}", "Latte") for i in range(250)])
    assert values(store) == {"2022-10-14#Latte": 250, "2022-10-14#TotalSales": 250}


def test_many_distinct_counters_in_one_apply(backend: Backend) -> None:
    # More distinct counters than one DynamoDB transaction can hold.
    store = backend.store()
    events = [sale(f"e{i}", f"drink-{i % 120}", f"2022-10-{10 + i % 3}") for i in range(300)]
    assert len(store.apply(events).counted) == 300
    got = values(store)
    assert sum(v for k, v in got.items() if k.endswith("#TotalSales")) == 300
    assert sum(v for k, v in got.items() if not k.endswith("#TotalSales")) == 300


def test_read_selects_a_bucket_range(backend: Backend) -> None:
    store = backend.store()
    store.apply(
        [
            sale("a", "Latte", "2022-10-13"),
            sale("b", "Latte", "2022-10-14"),
            sale("c", "Mocha", "2022-10-15"),
        ]
    )
    got = store.read("Aggregate", "2022-10-14", "2022-10-15")
    assert sorted((c.key.bucket, c.key.dimension, c.value) for c in got) == [
        ("2022-10-14", "Latte", 1),
        ("2022-10-14", "TotalSales", 1),
        ("2022-10-15", "Mocha", 1),
        ("2022-10-15", "TotalSales", 1),
    ]
    assert store.read("Other", "2022-10-14", "2022-10-15") == []


def test_hour_buckets_in_a_day_range(backend: Backend) -> None:
    store = backend.store()
    events = [
        CountedEvent(f"h{h}", {CounterKey("hourly", f"2022-10-14T{h:02d}", "HourlyTotal"): 1})
        for h in (0, 12, 23)
    ] + [CountedEvent("h-next", {CounterKey("hourly", "2022-10-15T00", "HourlyTotal"): 1})]
    store.apply(events)
    got = store.read("hourly", "2022-10-14T00", "2022-10-14T23")
    assert [c.key.bucket for c in got] == ["2022-10-14T00", "2022-10-14T12", "2022-10-14T23"]


def test_dimension_values_keep_their_text(backend: Backend) -> None:
    store = backend.store()
    odd = ["Caffè Latte", "Latte #2", "<img src=x onerror=alert(1)>", "émoji ☕"]
    store.apply([sale(f"x{i}", d) for i, d in enumerate(odd)])
    assert {c.key.dimension for c in store.read("Aggregate", "2022-10-14", "2022-10-14")} == {
        *odd,
        "TotalSales",
    }


def test_bucket_span_and_emptiness(backend: Backend) -> None:
    store = backend.store()
    assert store.is_empty() and store.bucket_span("Aggregate") is None
    store.apply([sale("a", "Latte", "2022-10-13"), sale("b", "Latte", "2022-11-02")])
    assert not store.is_empty()
    assert store.bucket_span("Aggregate") == ("2022-10-13", "2022-11-02")


def test_a_rebuild_claims_an_empty_store_and_resumes_its_claim(backend: Backend) -> None:
    store = backend.store()
    assert store.claim_rebuild()  # empty: claimed
    store.apply([sale("a", "Latte")])
    assert store.claim_rebuild()  # claimed before: another worker resumes the rebuild


def test_a_store_with_counts_of_its_own_refuses_a_rebuild(backend: Backend) -> None:
    store = backend.store()
    store.apply([sale("a", "Latte")])
    assert not store.claim_rebuild()
    assert not store.claim_rebuild()


def test_distinct_values_beyond_the_cap_count_as_overflow(backend: Backend) -> None:
    caps = {"Aggregate": DimensionCap(3, "other", frozenset({"TotalSales", "other", "unknown"}))}
    store = backend.store(caps)
    store.apply([sale("a", "Latte"), sale("b", "Mocha")])
    store.apply([sale("c", "Espresso"), sale("d", "Flood-1"), sale("e", "Flood-2")])
    store.apply([sale("f", "Latte"), sale("g", "Flood-3"), sale("h", "unknown")])
    assert values(store) == {
        "2022-10-14#Latte": 2,
        "2022-10-14#Mocha": 1,
        "2022-10-14#Espresso": 1,
        "2022-10-14#other": 3,
        "2022-10-14#unknown": 1,
        "2022-10-14#TotalSales": 8,
    }
