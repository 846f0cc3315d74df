from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.backends import Backend, embedded

BACKENDS = [pytest.param("embedded", id="embedded")]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "embedded":
        yield from embedded(tmp_path)
    else:  # pragma: no cover
        raise AssertionError(request.param)
