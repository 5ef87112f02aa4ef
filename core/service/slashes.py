"""One path with or without a trailing slash: ``/v1/evaluate/`` is answered as ``/v1/evaluate``.

The framework's own remedy is a 307 redirect to the path without the slash, which many callers
do not follow with the body (Java's ``HttpURLConnection``, .NET's ``HttpClient`` for a POST) or
follow without the ``Authorization`` header. The path is rewritten before routing instead (the
router's redirects are turned off), so each operation keeps one route and one entry in the
OpenAPI contract.
"""
from __future__ import annotations

from typing import Any


def without_trailing_slash(path: str) -> str:
    """``path`` less one trailing slash; the root ``/`` stays as it is."""
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


class TrailingSlash:
    """ASGI middleware: an HTTP request's path loses one trailing slash before it is routed."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            trimmed = without_trailing_slash(path)
            if trimmed != path:
                scope = {**scope, "path": trimmed}
                raw = scope.get("raw_path")
                if raw:
                    scope["raw_path"] = without_trailing_slash(raw.decode("latin-1")).encode("latin-1")
        await self.app(scope, receive, send)
