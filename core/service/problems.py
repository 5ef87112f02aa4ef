"""RFC 9457 problem documents: every error the service answers is one, never HTML or a trace.

A problem carries ``type`` (a stable URN per kind of error), ``title`` and ``detail`` (Chinese
first, English after), ``status``, and for records that failed validation ``problems``: the
same entries as a report's ``rejected[].problems`` (code, row, field, label, message …).
"""
from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import orjson
from starlette.responses import Response

from ..loading import InputError

MEDIA_TYPE = "application/problem+json"

#: kind → (status, Chinese title, English title). 400 is a request that does not match the
#: contract; 422 a well-formed request whose content cannot be judged. A calling system acts on
#: the kind: ``no-records`` (send some records), ``records-rejected`` (show each problem),
#: ``unreadable-file`` (send the file in another format).
KINDS: dict[str, tuple[int, str, str]] = {
    "malformed-request": (400, "请求格式错误", "Malformed request"),
    "unknown-province": (400, "未知的省份", "Unknown province"),
    "unknown-format": (400, "未知的报告格式", "Unknown report format"),
    "unauthorized": (401, "需要身份验证", "Authentication required"),
    "not-found": (404, "未找到", "Not found"),
    "method-not-allowed": (405, "不支持的请求方法", "Method not allowed"),
    "too-large": (413, "请求过大", "Request too large"),
    "unsupported-media-type": (415, "不支持的请求内容类型", "Unsupported media type"),
    "no-records": (422, "没有可评估的记录", "No records to judge"),
    "records-rejected": (422, "记录未通过校验", "Records rejected"),
    "unreadable-file": (422, "文件无法读取", "Unreadable file"),
    "internal-error": (500, "服务内部错误", "Internal error"),
    "busy": (503, "服务繁忙", "Service busy"),
    "timeout": (503, "评估超时", "Evaluation timed out"),
}


def type_uri(kind: str) -> str:
    return f"urn:edubalance:problem:{kind}"


class ServiceProblem(Exception):
    """An error answered as a problem document; raised anywhere a request cannot go on."""

    def __init__(self, kind: str, detail: str, problems: list[dict] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(kind, detail, problems, headers)
        self.kind = kind
        self.status, zh, en = KINDS[kind]
        self.title = f"{zh} {en}"
        self.detail = detail
        self.problems = problems
        self.headers = headers or {}

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": type_uri(self.kind), "title": self.title, "status": self.status,
                               "detail": self.detail}
        if instance:
            doc["instance"] = instance
        if self.problems is not None:
            doc["problems"] = self.problems
        return doc

    def response(self, instance: str | None = None) -> Response:
        return Response(orjson.dumps(self.to_dict(instance)), status_code=self.status,
                        media_type=MEDIA_TYPE, headers=self.headers)


def problem_for_status(status: int, detail: str | None = None) -> ServiceProblem:
    """The problem for a bare HTTP status raised by the framework (404, 405 …); the framework's
    own English phrase (``Not Found``) gives way to the kind's Chinese and English words."""
    if detail is not None and detail == _phrase(status):
        detail = None
    for kind, (code, zh, en) in KINDS.items():
        if code == status:
            return ServiceProblem(kind, detail or f"{zh}。{en}.")
    return ServiceProblem("internal-error", detail or f"HTTP {status}")


def status_description(status: int) -> str:
    """What an error status means in the API document: each kind it answers, Chinese first."""
    kinds = [(kind, zh, en) for kind, (code, zh, en) in KINDS.items() if code == status]
    return (f"{'；'.join(zh for _, zh, _ in kinds)}。{'; '.join(en for _, _, en in kinds)} "
            f"({', '.join(f'`{kind}`' for kind, _, _ in kinds)})")


def _phrase(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None


#: Where a message's English half starts: a slash between spaces (or after a closing
#: full-width bracket) before a letter, digit, quote or bracket.
_HALVES = re.compile(r"(?:\s|(?<=）))/\s+(?=[A-Za-z0-9'\"(\[])")


def bilingual_halves(message: str) -> tuple[str, str | None]:
    """``(Chinese, English)`` of a message written ``中文 / English``; the English is None when no
    slash outside 「…」 (a user's header quoted in the Chinese) parts them."""
    for m in _HALVES.finditer(message):
        before = message[:m.start()]
        if before.count("「") == before.count("」") and before.strip():
            return before.rstrip(), message[m.end():]
    return message, None


def unreadable_file(exc: InputError) -> ServiceProblem:
    """422 for a file no reader can read, in the service's words: the reader's Chinese after
    the Chinese, its English after the English (the halves it gave, else parted here)."""
    path = exc.path
    zh, en = (exc.zh, exc.en) if exc.zh is not None else bilingual_halves(exc.message)
    tail = "." if en is None else f": {en}"
    return ServiceProblem("unreadable-file", f"文件 {path} 无法读取：{zh}。The file {path!r} cannot be read{tail}")


def rejected_problems(rejected: list[dict]) -> list[dict]:
    """Every problem of the rejected records (each names its file, row, field and label)."""
    return [p for rec in rejected for p in rec["problems"]]
