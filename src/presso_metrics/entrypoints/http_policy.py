"""What every response of the web application obeys, whichever front end serves it (uvicorn
locally, Mangum in Lambda): an ASGI middleware around the whole application.

- **Host check** (DNS rebinding): a page on ``evil.example`` whose name the attacker re-points at
  127.0.0.1 can make the victim's browser send requests to the local server with
  ``Host: evil.example``. Only the allowed names are answered: anything else gets **421
  Misdirected Request** (RFC 9110 15.5.20: this server is not authoritative for that name), and
  a missing, repeated or malformed Host gets **400** (RFC 9112 3.2). ``allowed_hosts=None``
  checks nothing (Lambda: API Gateway routes only its own domains to the function).
- **HEAD** is answered wherever GET is: as the GET, without its body.
- **Headers**: the dashboard's Content-Security-Policy and ``X-Frame-Options: DENY`` on every
  response (the API docs page included), ``nosniff``, ``no-referrer``, and ``Cache-Control``:
  ``no-store`` on errors (a 503 must not outlive its cause), ``public, max-age=3600`` on the
  static files, ``no-cache`` on everything else (the counts change as events are counted: a
  cache must ask again every time).
- **Size** (:class:`ResponseSizeLimit`, just inside the policy): AWS Lambda cannot return a
  response document over 6,291,556 bytes (API Gateway would answer 502 with no reason). An
  answer that would make a larger document is replaced by **413** saying what to ask instead (a
  shorter range, or ``Accept-Encoding: gzip``); the local server answers the same, so the two
  front ends cannot differ.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from presso_metrics.entrypoints.http_api import DASHBOARD_CSP, echo

STATIC_MAX_AGE = 3600
STATIC_PREFIXES = ("/static/", "/swagger/")
_HOST = re.compile(r"(?P<name>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(?::[0-9]{1,5})?")


def response_headers(path: str, status: int) -> dict[str, str]:
    if status >= 400:
        cache = "no-store"
    elif path.startswith(STATIC_PREFIXES):
        cache = f"public, max-age={STATIC_MAX_AGE}"
    else:
        cache = "no-cache"
    return {
        "Cache-Control": cache,
        "Content-Security-Policy": DASHBOARD_CSP,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def normalise_host(name: str) -> str:
    """A host name as compared: lower case, no IPv6 brackets, no trailing dot."""
    return name.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")


class HostAllowList:
    """Names (``localhost``), addresses (``127.0.0.1``, ``::1``), ``*.example.com`` for any name
    under a domain, or ``*`` for any host at all."""

    def __init__(self, hosts: Collection[str]) -> None:
        names = {normalise_host(h) for h in hosts if h.strip()}
        self.any = "*" in names
        self.suffixes = tuple(n[1:] for n in names if n.startswith("*."))
        self.names = {n for n in names if not n.startswith("*")}

    def allows(self, name: str) -> bool:
        name = normalise_host(name)
        return self.any or name in self.names or name.endswith(self.suffixes)


class HttpPolicy:
    def __init__(self, app: ASGIApp, allowed_hosts: Collection[str] | None = None) -> None:
        self.app = app
        self.allowed = None if allowed_hosts is None else HostAllowList(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = response_headers(path, message["status"])
                kept = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() not in {e.lower() for e in extra}
                ]
                added = [(k.lower().encode(), v.encode()) for k, v in extra.items()]
                message = {**message, "headers": kept + added}
            elif message["type"] == "http.response.body" and scope["method"] == "HEAD":
                message = {**message, "body": b""}
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        inner = dict(scope, method="GET") if scope["method"] == "HEAD" else scope
        await self.app(inner, receive, send_with_headers)

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        if self.allowed is None:
            return None
        hosts = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"host"]
        if len(hosts) != 1:
            return JSONResponse({"detail": "send exactly one Host header"}, status_code=400)
        match = _HOST.fullmatch(hosts[0].strip())
        if match is None:
            return JSONResponse(
                {"detail": f"the Host header {echo(hosts[0])} is not a host name"},
                status_code=400,
            )
        if self.allowed.allows(match["name"]):
            return None
        return JSONResponse(
            {
                "detail": f"this server does not answer for the host {echo(match['name'])}; "
                "if that is a name of this machine, start `presso-metrics serve` with "
                "--allow-host and that name"
            },
            status_code=421,
        )


# The largest response document a Lambda function may return: its runtime refuses more with
# "Exceeded maximum allowed payload size (6291556 bytes)" and API Gateway answers 502.
LAMBDA_RESPONSE_BYTES = 6_291_556
# What an answer's document may take, as ResponseSizeLimit measures it (status, headers and the
# body as Mangum carries it): 291,556 bytes (4.6 %) under Lambda's limit, for what the runtime's
# or a later Mangum's encoding of the document may add.
RESPONSE_LIMIT = 6_000_000
_DROPPED_EXTENSIONS = ("http.response.pathsend", "http.response.zerocopysend")  # not measurable


def base64_size(n: int) -> int:
    return 4 * ((n + 2) // 3)


def document_size(path: str, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    """An upper bound of the size of the response document a Lambda function returns for this
    answer (through Mangum, behind API Gateway): the status, the headers with the policy's, and
    the body as the larger of its two encodings: base64 (binary or compressed bodies) and
    JSON-string text (every quote, backslash, control or non-ASCII character escaped)."""
    named = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
    named.update({k.lower(): v for k, v in response_headers(path, status).items()})
    envelope = {"statusCode": status, "headers": named, "body": "", "isBase64Encoded": False}
    try:
        as_text = len(json.dumps(body.decode("utf-8"))) - 2  # its quotes are in the envelope
    except UnicodeDecodeError:
        as_text = 0  # not text: only ever sent base64
    return len(json.dumps(envelope)) + max(base64_size(len(body)), as_text)


class ResponseSizeLimit:
    """Holds each answer until it is complete, and answers 413 instead when its document
    (:func:`document_size`) would be over ``limit``. The answers are built in memory anyway
    (JSON, CSV) or are small files; a body is dropped as soon as it is over the limit."""

    def __init__(self, app: ASGIApp, limit: int = RESPONSE_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extensions = {
            k: v for k, v in scope.get("extensions", {}).items() if k not in _DROPPED_EXTENSIONS
        }
        held: list[Message] = []
        chunks: list[bytes] = []
        received = 0

        async def hold(message: Message) -> None:
            nonlocal received
            if message["type"] != "http.response.body":
                held.append(message)
                return
            body = message.get("body", b"")
            received += len(body)
            if base64_size(received) <= self.limit:
                chunks.append(body)
            else:  # over the limit whatever its encoding: nothing more is kept
                chunks.clear()

        await self.app(dict(scope, extensions=extensions), receive, hold)
        if not held or held[0]["type"] != "http.response.start":
            return
        start = held[0]
        body = b"".join(chunks)
        size = base64_size(received)
        if len(body) == received:
            size = document_size(scope["path"], start["status"], start.get("headers", []), body)
        if size > self.limit:
            await too_large(scope, received, self.limit)(scope, receive, send)
            return
        await send(start)
        await send({"type": "http.response.body", "body": body})
        for message in held[1:]:
            await send(message)


def too_large(scope: Scope, size: int, limit: int) -> JSONResponse:
    """413: the answer's size, the limit, and what to ask instead."""
    accepted = b",".join(v for k, v in scope["headers"] if k.lower() == b"accept-encoding")
    ways = "ask for fewer days ('from' and 'to')"
    if b"gzip" not in accepted:  # as GZipMiddleware decides: this answer was not compressed
        ways += ", or send Accept-Encoding: gzip (answers are then ten times smaller or more)"
    return JSONResponse(
        {
            "detail": f"this answer ({size / 1e6:.1f} MB) does not fit in a response of this API "
            f"(at most {limit / 1e6:.1f} MB once encoded: AWS Lambda's limit); {ways}"
        },
        status_code=413,
    )
