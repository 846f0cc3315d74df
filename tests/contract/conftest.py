from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.backends import AwsBackend, Backend, embedded

BACKENDS = [
    pytest.param("embedded", id="embedded"),
    pytest.param("aws", id="aws", marks=pytest.mark.aws),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "embedded":
        yield from embedded(tmp_path)
    else:
        yield AwsBackend(request.getfixturevalue("aws"))
