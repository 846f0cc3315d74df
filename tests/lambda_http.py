"""Calling a Lambda function behind an API Gateway HTTP API the way API Gateway does: with payload
format 2.0 events. ``LambdaHttpClient`` has the part of ``httpx``'s client interface the API tests
use, so the same tests run against the local server and the Lambda function."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx


class Context:
    function_name = "ReadMetrics"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-west-2:123456789012:function:ReadMetrics"
    aws_request_id = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def http_api_event(
    path: str,
    query: Mapping[str, str] | None = None,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event, as API Gateway builds it."""
    query = dict(query or {})
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query),
        "headers": {
            "host": "abc123.execute-api.us-west-2.amazonaws.com",
            "user-agent": "tests",
            "accept": "*/*",
            **{k.lower(): v for k, v in (headers or {}).items()},
        },
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-west-2.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "tests",
            },
            "requestId": "request-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "14/Oct/2022:12:00:00 +0000",
            "timeEpoch": 1665748800000,
        },
        "isBase64Encoded": False,
    }


def as_response(result: Mapping[str, Any], method: str, url: str) -> httpx.Response:
    body = result.get("body") or ""
    content = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    headers = dict(result.get("headers") or {})
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(values)
    return httpx.Response(
        result["statusCode"],
        headers=headers,
        content=content,
        request=httpx.Request(method, url),
    )


@dataclass
class LambdaHttpClient:
    """``handler(event, context)`` called like an HTTP client."""

    handler: Callable[[dict[str, Any], Any], dict[str, Any]]

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        event = http_api_event(path, params, method.upper(), headers)
        result = self.handler(event, Context())
        return as_response(result, method.upper(), f"https://abc123.example{path}")

    def get(self, path: str, params: Mapping[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.request("GET", path, params, kw.get("headers"))

    def head(self, path: str, params: Mapping[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.request("HEAD", path, params, kw.get("headers"))

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path)


def decoded(response: httpx.Response) -> Any:
    return json.loads(response.text)


@contextmanager
def front_end(app: Any, kind: str) -> Iterator[Any]:
    """An HTTP client of ``app`` through one of its two front ends: ``local`` (FastAPI's test
    client, as ``presso-metrics serve`` runs it) or ``lambda`` (API Gateway's events through
    Mangum, as the ReadMetrics function runs it)."""
    if kind == "local":
        from fastapi.testclient import TestClient

        with TestClient(app) as client:
            yield client
    else:
        from mangum import Mangum

        yield LambdaHttpClient(Mangum(app, lifespan="off"))
