"""The request-body size limit, enforced before the body is read (``Content-Length``) and while
it streams in (chunked bodies), so an oversized upload is never held in memory.

Starlette's own limit answers ``text/plain`` when a handler replies before reading the body
(a refused token, say); this one answers a problem document on every path."""
from __future__ import annotations

from typing import Any

from .problems import ServiceProblem


def too_large(limit: int) -> ServiceProblem:
    return ServiceProblem("too-large", f"请求体超过 {limit} 字节的上限。"
                                       f"The request body is larger than the limit of {limit} bytes.")


class BodyLimit:
    """ASGI middleware: 413 for a body over ``limit`` bytes."""

    def __init__(self, app: Any, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0:
                await ServiceProblem("malformed-request", "Content-Length 无效。Invalid Content-Length.").response()(
                    scope, receive, send)
                return
            if size > self.limit:
                await too_large(self.limit).response()(scope, receive, send)
                return
        seen = 0

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise too_large(self.limit)
            return message

        await self.app(scope, limited_receive, send)
