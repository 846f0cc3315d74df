"""The failures a user acts on, said in one line: the command line prints it, the web API answers
it with a 503. They are this package's own errors (the database file is missing, locked, not a
database, needs a migration) and AWS's (an endpoint that cannot be reached, no credentials, a
request AWS refused), which botocore raises with a traceback's worth of detail."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from presso_metrics.exceptions import PressoMetricsError, StoreUnavailableError

_MISSING = (
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
)
_DENIED = (
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
)
_BUSY = (
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalServerError",
)


@dataclass(frozen=True)
class Failure:
    message: str  # one line: what, where, what to do
    transient: bool  # trying again later may work


def describe(exc: BaseException) -> Failure | None:
    """The failure ``exc`` stands for, or None when it is not one a user can act on (a bug)."""
    if isinstance(exc, StoreUnavailableError):
        return Failure(_one_line(str(exc)), transient=True)
    if isinstance(exc, PressoMetricsError):
        return Failure(_one_line(str(exc)), transient=False)
    if type(exc).__module__.split(".")[0] == "botocore":
        return _aws(exc)
    return None


def _aws(exc: BaseException) -> Failure:
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    kwargs = getattr(exc, "kwargs", {}) or {}
    if "endpoint_url" in kwargs:
        if isinstance(exc, ConnectTimeoutError):
            why = "no connection in time"
        elif isinstance(exc, ReadTimeoutError):
            why = "no answer in time"
        else:
            why = _reason(kwargs.get("error"))
        return Failure(
            f"cannot reach {_endpoint(str(kwargs['endpoint_url']))} ({why}); check "
            "AWS_ENDPOINT_URL (or that it is unset, for AWS itself), the region and the network",
            transient=True,
        )
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return Failure(
            "no usable AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (boto3's standard configuration)",
            transient=False,
        )
    if isinstance(exc, NoRegionError):
        return Failure("no AWS region: set AWS_DEFAULT_REGION (or AWS_REGION)", transient=False)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "error"))
        text = _one_line(str(error.get("Message", "")))[:200]
        what = f"AWS refused {exc.operation_name} ({code}: {text})"
        if code in _MISSING:
            return Failure(
                f"{what}; check the table and queue names (--table, --queue; TABLE_NAME in "
                "Lambda) and that the stack is deployed (sam deploy, or presso-metrics init --aws)",
                transient=False,
            )
        if code in _DENIED:
            return Failure(f"{what}; check the credentials and their permissions", False)
        return Failure(what, transient=code in _BUSY)
    return Failure(f"AWS: {_one_line(str(exc))}", transient=False)


def _reason(error: object) -> str:
    """The innermost operating-system reason in an exception chain ("Connection refused")."""
    seen = 0
    while isinstance(error, BaseException) and seen < 20:
        if isinstance(error, OSError) and error.strerror:
            return error.strerror
        error = error.__cause__ or error.__context__ or (error.args[-1] if error.args else None)
        seen += 1
    return "connection failed"


def _endpoint(url: str) -> str:
    """The endpoint, without credentials a URL could carry or a bare trailing slash."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = "" if parts.path == "/" else parts.path
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def _one_line(text: str) -> str:
    return " ".join(text.split())
