"""Optional bearer tokens: read from a file, compared in constant time, never logged.

The token file has one token per line, optionally preceded by a client name and a space
(``hr-system 6f1c…``); blank lines and lines starting with ``#`` are ignored. The name (or, for
a bare token, the first 8 hex digits of its SHA-256) is what the access log calls the client.
"""
from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

#: Shorter tokens are refused at start: they can be guessed.
MIN_TOKEN_LENGTH = 16


class TokenFileError(ValueError):
    """The token file cannot be used; the message says why."""


class Tokens:
    def __init__(self, entries: list[tuple[str, bytes]]):
        self._entries = entries

    @classmethod
    def from_file(cls, path: str | Path) -> "Tokens":
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenFileError(f"无法读取令牌文件 cannot read the token file {path}: {exc}") from None
        entries = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, token = line.rpartition(" ")
            token = token.strip()
            if len(token) < MIN_TOKEN_LENGTH:
                raise TokenFileError(f"{path}:{lineno}: 令牌太短 token shorter than {MIN_TOKEN_LENGTH} characters")
            who = name.strip() or "token:" + hashlib.sha256(token.encode()).hexdigest()[:8]
            entries.append((who, token.encode("utf-8")))
        if not entries:
            raise TokenFileError(f"令牌文件为空 the token file {path} holds no token")
        return cls(entries)

    def who(self, authorization: str | None) -> str | None:
        """The client name for an ``Authorization: Bearer …`` header, or None if it is not valid.

        Every token is compared (no early exit), each with :func:`hmac.compare_digest`."""
        if not authorization:
            return None
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not given:
            return None
        given_bytes = given.strip().encode("utf-8", "surrogateescape")
        found = None
        for who, token in self._entries:
            if hmac.compare_digest(given_bytes, token) and found is None:
                found = who
        return found
