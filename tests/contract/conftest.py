from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.backends import AwsBackend, Backend, FakeBackend, embedded

BACKENDS = [
    pytest.param("embedded", id="embedded"),
    pytest.param("aws", id="aws", marks=pytest.mark.aws),
    pytest.param("fake", id="fake"),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "embedded":
        yield from embedded(tmp_path)
    elif request.param == "fake":
        yield FakeBackend()
    else:
        yield AwsBackend(request.getfixturevalue("aws"))
