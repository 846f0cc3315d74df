"""The time zones the stack's TimeZone parameter allows: every zone of the tz database packaged
with the functions (tzdata, pinned in src/requirements.txt), so CloudFormation refuses a name the
consumer could not use before it creates anything.

``python -m tests.template.time_zones`` prints the parameter's AllowedValues, to paste into
template.yaml after a tzdata upgrade (a test says when they differ)."""

from __future__ import annotations

import textwrap
from importlib import resources

INDENT = " " * 20  # continuation lines of AllowedValues: [...] in template.yaml


def packaged_zones() -> list[str]:
    """The zone names of the packaged tz database, sorted."""
    return sorted(resources.files("tzdata").joinpath("zones").read_text("utf-8").split())


def allowed_values_yaml() -> str:
    text = "AllowedValues: [" + ", ".join(packaged_zones()) + "]"
    lines = textwrap.wrap(text, width=100, subsequent_indent=INDENT, break_on_hyphens=False)
    return "    " + "\n".join(lines)


if __name__ == "__main__":
    print(allowed_values_yaml())
