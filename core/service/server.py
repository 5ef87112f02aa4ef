"""Starting the service under uvicorn, and refusing a binding that would expose it unguarded."""
from __future__ import annotations

from .auth import Tokens
from .settings import Settings, is_loopback


class UnsafeBinding(ValueError):
    """Asked to listen beyond this machine without a token."""


def check_binding(host: str, tokens: Tokens | None, allow_unauthenticated: bool) -> None:
    if tokens is None and not is_loopback(host) and not allow_unauthenticated:
        raise UnsafeBinding(f"拒绝在非本机地址 {host} 上无令牌运行：请用 --token-file 提供令牌，或明确加上 "
                            f"--allow-unauthenticated。Refusing to listen on {host} (not loopback) without "
                            f"a token: give --token-file, or say --allow-unauthenticated.")


def serve(settings: Settings, host: str, port: int, tokens: Tokens | None = None,
          allow_unauthenticated: bool = False) -> None:
    """Build the application (packs compiled once, worker processes started) and serve it."""
    import uvicorn

    from . import log
    from .app import create_app

    check_binding(host, tokens, allow_unauthenticated)
    log.setup()
    app = create_app(settings, tokens)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info", proxy_headers=False,
                server_header=False, timeout_graceful_shutdown=10)
