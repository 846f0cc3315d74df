"""Every answer of the web application fits in a Lambda response: the size limit measures what
Mangum would return (status, headers, the body as text with its escapes or as base64) and
answers 413 instead of anything larger, through both front ends alike."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from mangum import Mangum
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from presso_metrics.entrypoints.http_policy import (
    LAMBDA_RESPONSE_BYTES,
    RESPONSE_LIMIT,
    HttpPolicy,
    ResponseSizeLimit,
)
from tests.lambda_http import Context, front_end, http_api_event

pytestmark = pytest.mark.integration


async def lifespan(receive: Receive, send: Send) -> None:
    """The lifespan protocol, for the test client's local front end."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def answering(body: Callable[[int], bytes], media_type: str, **headers: str) -> Any:
    """An application (with the policy and the size limit, as create_app stacks them) whose
    /n/<n> answers ``body(n)``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        n = int(scope["path"].rsplit("/", 1)[1])
        await Response(body(n), media_type=media_type, headers=headers)(scope, receive, send)

    return HttpPolicy(ResponseSizeLimit(app), allowed_hosts=None)


KINDS: dict[str, tuple[Callable[[int], bytes], str, dict[str, str]]] = {
    # text Mangum sends as it is, with every character escaped in the response document
    "json quotes": (lambda n: b'"' * n, "application/json", {}),
    "accented text": (lambda n: "é".encode() * (n // 2) + b"e" * (n % 2), "text/csv", {}),
    "astral text": (lambda n: "😀".encode() * (n // 4) + b"e" * (n % 4), "text/plain", {}),
    "control characters": (lambda n: b"\x01" * n, "application/json", {}),
    "plain ASCII": (lambda n: b"a" * n, "text/csv", {}),
    # what Mangum sends base64
    "binary": (lambda n: os.urandom(n), "application/octet-stream", {}),
    "compressed": (lambda n: os.urandom(n), "application/json", {"Content-Encoding": "gzip"}),
}


def lambda_result(app: Any, n: int) -> dict[str, Any]:
    result: dict[str, Any] = Mangum(app, lifespan="off")(http_api_event(f"/n/{n}"), Context())  # type: ignore[arg-type]
    return result


def largest_answered(app: Any) -> int:
    low, high = 0, LAMBDA_RESPONSE_BYTES  # answered, refused
    assert lambda_result(app, high)["statusCode"] == 413
    while high - low > 1:
        middle = (low + high) // 2
        if lambda_result(app, middle)["statusCode"] == 200:
            low = middle
        else:
            high = middle
    return low


@pytest.mark.parametrize("kind", KINDS)
def test_the_largest_answer_of_each_kind_fits_and_one_byte_more_is_refused(kind: str) -> None:
    body, media_type, headers = KINDS[kind]
    app = answering(body, media_type, **headers)
    n = largest_answered(app)
    result = lambda_result(app, n)
    assert result["statusCode"] == 200
    # The document as the runtime sends it: escaped (before Python 3.12) or UTF-8 (3.12).
    assert len(json.dumps(result)) <= LAMBDA_RESPONSE_BYTES
    assert len(json.dumps(result, ensure_ascii=False).encode()) <= LAMBDA_RESPONSE_BYTES
    assert len(json.dumps(result)) <= RESPONSE_LIMIT  # what the limit measured: an upper bound
    refused = lambda_result(app, n + 1)
    assert refused["statusCode"] == 413
    assert len(json.dumps(refused)) < 2000


@pytest.mark.parametrize("kind", ["local", "lambda"])
def test_a_refused_answer_says_what_to_ask_instead_with_the_policy_headers(kind: str) -> None:
    app = answering(lambda n: b"a" * n, "application/json")
    plain = {"Accept-Encoding": "identity"}  # the test client asks for gzip unless told
    with front_end(app, kind) as client:
        small = client.get("/n/1000", headers=plain)
        assert small.status_code == 200 and small.content == b"a" * 1000
        for method in ("GET", "HEAD"):
            refused = client.request(method, "/n/7000000", headers=plain)
            assert refused.status_code == 413
            assert refused.headers["Cache-Control"] == "no-store"
            assert "default-src 'self'" in refused.headers["Content-Security-Policy"]
        detail = client.get("/n/7000000", headers=plain).json()["detail"]
        assert detail == (
            "this answer (7.0 MB) does not fit in a response of this API (at most 6.0 MB once "
            "encoded: AWS Lambda's limit); ask for fewer days ('from' and 'to'), or send "
            "Accept-Encoding: gzip (answers are then ten times smaller or more)"
        )
        compressed = client.get("/n/7000000", headers={"Accept-Encoding": "gzip, br"})
        assert compressed.status_code == 413
        assert "gzip" not in compressed.json()["detail"]  # it was asked for already
        assert "fewer days" in compressed.json()["detail"]


def test_a_streamed_answer_is_passed_whole() -> None:
    """A body sent in parts (a static file) reaches the client unchanged."""
    parts = [bytes([i]) * 70_000 for i in range(5)]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        length = str(sum(map(len, parts))).encode()
        headers = [(b"content-type", b"application/octet-stream"), (b"content-length", length)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": i < 4})

    for kind in ("local", "lambda"):
        with front_end(HttpPolicy(ResponseSizeLimit(app), allowed_hosts=None), kind) as client:
            answer = client.get("/file")
            assert answer.status_code == 200 and answer.content == b"".join(parts)
