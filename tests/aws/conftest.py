"""Fixtures of the AWS tier beyond the emulator's (tests/aws_emulator.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.aws_emulator import Emulator
from tests.hanging import hanging  # noqa: F401 - fixture: an endpoint that never answers
from tests.sam import table_from_template

TABLE = "serverlesspresso-metrics-table"


@pytest.fixture
def client(aws: Emulator) -> Any:
    """A DynamoDB client (the product's configuration) and the template's table."""
    c = aws.client("dynamodb")
    c.create_table(**table_from_template(TABLE))
    return c
