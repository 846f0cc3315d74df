"""Logging for the command line, with AWS credentials taken out of every line.

At ``--log-level DEBUG`` botocore logs each request it signs: the canonical request (with the
``x-amz-security-token`` header), the prepared request's headers (``X-Amz-Security-Token``, and
``Authorization``, which holds the access key id and the signature) and, for credential
providers such as STS or SSO, response bodies holding a secret key and a session token. The
formatter here rewrites each formatted line (message, arguments and traceback alike) so that none
of those values is printed: the values of credential-named fields in any of the forms botocore
prints them (``name:value``, ``'Name': b'value'``, ``"name": "value"``, ``<Name>value</Name>``,
``Name=value``), AWS access key ids wherever they appear, and the credentials in the environment.
"""

from __future__ import annotations

import logging
import os
import re
import sys

REDACTED = "[redacted]"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_NAMES = (
    r"x-amz-security-token|x-amz-credential|x-amz-signature|authorization"
    r"|[a-z_-]*(?:secret_?access_?key|session_?token|security_?token|access_?key_?id)"
)
# A credential-named field, the separator botocore prints after it, then its value.
_FIELD = re.compile(
    rf"(?P<name>\b(?:{_NAMES}))(?P<sep>['\"]?\s*(?::|=|>|%3D)\s*(?:b?['\"])?)"
    r"(?P<value>(?:AWS4-HMAC-SHA256 )?[^'\"\s<&,;]+)",
    re.IGNORECASE,
)
# What an Authorization header holds after its scheme, and signed query strings.
_CREDENTIAL = re.compile(r"(?P<name>Credential|Signature)(?P<sep>=)(?P<value>[^,\s'\"&]+)")
# AWS access key ids (IAM users, roles, temporary credentials...), wherever they appear.
_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA|APKA|ABIA|ACCA)[A-Z0-9]{12,}\b")
_ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)


def redact(text: str) -> str:
    """``text`` without AWS credentials."""
    for name in _ENVIRONMENT:
        value = os.environ.get(name, "")
        if len(value) >= 6:
            text = text.replace(value, REDACTED)
    text = _FIELD.sub(lambda m: m["name"] + m["sep"] + REDACTED, text)
    text = _CREDENTIAL.sub(lambda m: m["name"] + m["sep"] + REDACTED, text)
    return _KEY_ID.sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    """A formatter whose output never holds an AWS credential (see the module's docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(level: str) -> None:
    """Log to standard error at ``level``, credentials redacted. Raises ValueError for a level
    logging does not know."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
