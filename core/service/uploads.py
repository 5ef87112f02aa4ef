"""Reading a request's records: a JSON body as it is (the evaluation process parses it), or a
multipart upload whose files are saved under the names the client gave them."""
from __future__ import annotations

import shutil
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from ..errors import InvalidInput
from ..evaluator import check_options
from .contract import MAX_YEAR, MIN_YEAR
from .problems import ServiceProblem
from .settings import Settings

#: Longest name an uploaded file keeps (bytes of UTF-8; file systems allow 255).
MAX_NAME_BYTES = 120
FORM_FIELDS = ("files", "province", "year", "verdicts", "schools_only")
#: A plan's form: its files, province, year and target (local prices go in a JSON body).
PLAN_FORM_FIELDS = ("files", "province", "year", "target")
#: Form fields other than files a request may hold (the parser refuses more).
MAX_FORM_FIELDS = 10
#: How a form writes schools_only (as JSON Schema reads a boolean form field, and as a clerk would).
FORM_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "": False}


class RequestReader:
    def __init__(self, settings: Settings, check_province: Callable[[str | None], str | None]):
        self.settings = settings
        self.check_province = check_province

    async def read(self, request: Request, folder: Path, fields: tuple[str, ...] = FORM_FIELDS) -> tuple[tuple, dict]:
        """``(("json", body) | ("files", folder, [names]), form options)``: uploaded files are
        saved in ``folder/in``, a second file of the same name in a numbered folder; a form
        field not in ``fields`` is refused."""
        inbox = folder / "in"
        inbox.mkdir()
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json":
            return ("json", await request.body()), {}
        if ctype != "multipart/form-data":
            raise ServiceProblem("unsupported-media-type", f"请求内容类型应为 application/json 或 multipart/form-data，"
                                                           f"收到 {ctype or '无'}。Expected application/json or "
                                                           f"multipart/form-data, got {ctype or 'none'}.")
        files: list[str] = []
        options: dict[str, str] = {}
        parser = _Form(request.headers, request.stream(), max_files=self.settings.max_files,
                       max_fields=MAX_FORM_FIELDS)
        try:
            form = await parser.parse()
        except MultiPartException as exc:     # the form parser's own words, English only: said in Chinese first
            why = _form_refusal_zh(exc.message, self.settings.max_files)
            raise ServiceProblem("malformed-request", f"无法解析 multipart/form-data 表单：{why}。"
                                                      f"The multipart/form-data body cannot be parsed: {exc.message}") from None
        try:
            if not parser.complete:
                raise ServiceProblem("malformed-request", "multipart/form-data 表单在结束边界之前就结束了（请求体不完整），"
                                                          "未读取其中任何文件。The multipart/form-data body ends before its "
                                                          "closing boundary (it is incomplete); none of its files was read.")
            for key, value in form.multi_items():
                if key == "files" and not isinstance(value, str):
                    name = upload_name(value.filename, len(files) + 1)
                    if (inbox / name).exists():
                        k = len(files)
                        while (inbox / str(k)).exists():
                            k += 1
                        (inbox / str(k)).mkdir()
                        name = f"{k}/{name}"
                    await run_in_threadpool(_save, value.file, inbox / name)
                    files.append(name)
                elif key in fields[1:] and isinstance(value, str):
                    options[key] = value
                else:
                    raise ServiceProblem("malformed-request", f"表单中有未知字段 {key!r}（应为 {'、'.join(fields)}）。"
                                                              f"Unexpected form field {key!r} (expected "
                                                              f"{', '.join(fields)}).")
        finally:
            await form.close()
        if not files:
            raise ServiceProblem("no-records", "没有上传文件（表单字段 files）。No files uploaded (form field 'files').")
        return ("files", str(inbox), files), self._options(options)

    def _options(self, given: dict[str, str]) -> dict[str, Any]:
        """The form's province, year, verdicts, schools_only and target, checked as the JSON body's are."""
        out: dict[str, Any] = {"province": given.get("province") or None, "verdicts": given.get("verdicts") or "all"}
        schools_only = FORM_BOOLEANS.get(given.get("schools_only", "").strip().lower())
        if schools_only is None:
            raise ServiceProblem("malformed-request", "schools_only 应为 true 或 false。schools_only must be true or false.")
        out["schools_only"] = schools_only
        year = given.get("year")
        if year:
            if not year.strip().isdigit():
                raise ServiceProblem("malformed-request", f"year 应为 {MIN_YEAR}–{MAX_YEAR} 的整数。"
                                                          f"year must be an integer from {MIN_YEAR} to {MAX_YEAR}.")
            out["year"] = int(year)
        try:
            check_options(out.get("year"), out["verdicts"])
        except InvalidInput as exc:
            raise ServiceProblem("malformed-request", exc.problems[0].message) from None
        if "target" in given:
            if given["target"] not in ("quality", "basic"):
                raise ServiceProblem("malformed-request", "target 应为 quality 或 basic。target must be quality or basic.")
            out["target"] = given["target"]
        out["province"] = self.check_province(out["province"])
        return out


#: What the form parser refuses (its messages begin with these words), in Chinese.
_FORM_REFUSALS_ZH = {"Too many files": "文件过多（最多 {files} 个）", "Too many fields": "其他字段过多（最多 {fields} 个）",
                     "Missing boundary": "缺少边界（boundary）", "Part exceeded maximum size": "某一分段超过大小上限",
                     "Field exceeded maximum size": "某一字段超过大小上限",
                     "The Content-Disposition header field": "某一分段没有 Content-Disposition 的 name",
                     "Invalid multipart data": "分段格式不正确"}


def _form_refusal_zh(message: str, files: int) -> str:
    """The Chinese of a refusal by the form parser (whose messages are English only)."""
    found = next((zh for start, zh in _FORM_REFUSALS_ZH.items() if message.startswith(start)), "边界、分段或数量不合规定")
    return found.format(files=files, fields=MAX_FORM_FIELDS)


class _Form(MultiPartParser):
    """Starlette's multipart parser, noting whether the body reached its closing boundary (the
    parser itself keeps the parts before a body that stops short, and drops the last)."""

    complete = False

    def on_end(self) -> None:
        self.complete = True


def upload_name(given: str | None, k: int) -> str:
    """The client's file name without folders or control characters, shortened if need be
    (keeping the suffix, which tells the reader the format). A name sent as an RFC 2047 encoded
    word (``=?utf-8?B?…?=``, as .NET's ``MultipartFormDataContent`` writes a non-ASCII name) is
    decoded first."""
    given = given or ""
    if "=?" in given:
        try:
            given = str(make_header(decode_header(given)))
        except (HeaderParseError, LookupError, UnicodeDecodeError):
            pass                                    # not a well-formed encoded word: kept as sent
    name = "".join(c for c in Path(given.replace("\\", "/")).name if c.isprintable())
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        suffix = Path(name).suffix[:16]
        stem = name[:len(name) - len(suffix)].encode("utf-8")[:MAX_NAME_BYTES - 40].decode("utf-8", "ignore")
        name = stem + "…" + suffix
    return name if name.strip(". ") else f"upload-{k}"


def _save(source: Any, target: Path) -> None:
    with open(target, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
