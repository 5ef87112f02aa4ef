"""The FastAPI application: the /v1 routes, the response stamps, the problem handlers.

The event loop only reads requests, checks tokens and limits, and streams answers; judging
runs in the evaluation processes (:mod:`.pool`). Pack lists and rule listings are answered
here from one Evaluator built at start (read-only, and the loop is one thread).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from time import perf_counter
from urllib.parse import quote
from typing import Any, AsyncIterator, Optional

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response, StreamingResponse
from starlette.types import Message

from ..output import report_formats
from ..regions import NATIONAL, province_key
from . import log
from .auth import Tokens
from .contract import (EXAMPLE_SCHOOL, EXAMPLE_SCHOOL_ZH, MAX_YEAR, MIN_YEAR, EvaluateBody, Health, PacksResult,
                       PlanBody, Price, ProblemDocument, Readiness, RulesResult, ValidateBody, ValidationResult, plan_components,
                       refine, report_components, rule_components)
from .limits import BodyLimit
from .uploads import PLAN_FORM_FIELDS, RequestReader
from .pool import Pool
from .slashes import TrailingSlash
from .problems import MEDIA_TYPE, ServiceProblem, problem_for_status, status_description
from .settings import Settings

API_TITLE = "edubalance 义务教育均衡发展评估服务"
DESCRIPTION = """义务教育学校和县域对照国家与省级均衡发展标准的评估服务。
Judges compulsory-education schools and counties against the national and provincial
balanced-development standards. Every response carries the rule-pack revisions
(`X-Edubalance-Packs`) and the standards year (`X-Edubalance-Standards-Year`); every error is an
RFC 9457 problem document (`application/problem+json`)."""

#: Media types of the report formats the service knows by name; others are sent as bytes.
MEDIA_TYPES = {"json": "application/json", "table": "text/plain; charset=utf-8", "html": "text/html; charset=utf-8",
               "ndjson": "application/x-ndjson",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
#: Report media types a client reads as text; any other (a workbook, a zip) as bytes.
TEXT_MEDIA_TYPES = ("text/plain", "text/html", "application/x-ndjson")
STAMP_HEADERS = {
    "X-Edubalance-Packs": {"description": "规则包及其修订版 Rule packs and revisions: `id=revision;…`",
                           "schema": {"type": "string"}},
    "X-Edubalance-Standards-Year": {"description": "评估所依据的标准年份 Standards year(s) judged by, or "
                                                   "`record` (each record's own year)", "schema": {"type": "string"}},
    "X-Request-Id": {"description": "请求标识，与服务日志的 request_id 相同 The request's id, as in the service log",
                     "schema": {"type": "string"}},
}
RULESETS_HEADER = {"X-Edubalance-Rulesets": {"description": "评估所用的规则集 Rule sets judged by: `province/year,…`",
                                             "schema": {"type": "string"}}}
#: What an evaluation adds: its rule sets, its exit code as on the command line, and for a
#: format other than JSON the file name.
EVALUATE_HEADERS = {**STAMP_HEADERS, **RULESETS_HEADER,
                    "X-Edubalance-Exit-Code": {"description": "命令行的退出码：0 全部达标，1 有未达标或数据不全 The command "
                                                              "line's exit code: 0 all pass, 1 findings",
                                               "schema": {"type": "string", "enum": ["0", "1"]}},
                    "Content-Disposition": {"description": "非 JSON 格式时的文件名 The file name, for a format other "
                                                           "than JSON", "schema": {"type": "string"}}}

#: Query parameters typed by a named schema of the API document.
PARAMETER_TYPES: dict[Any, str] = {"province": "Province", "format": "ReportFormat", ("plan", "format"): "PlanFormat"}

#: The operations' groups (a generated client makes one API class of each).
TAGS = [{"name": "evaluate", "description": "评估与校验记录 Judging and checking records"},
        {"name": "plan", "description": "整改方案 Remediation plans"},
        {"name": "rules", "description": "规则与规则包 The rules in force and the rule packs"},
        {"name": "health", "description": "存活与就绪（无需令牌）Liveness and readiness (no token needed)"}]

#: What a successful answer is called in the API document (FastAPI's own words are English).
OK = "成功 Successful response"


def _media_type(fmt: str) -> str:
    return MEDIA_TYPES.get(fmt, "application/octet-stream")


def _report_schema(media_type: str) -> dict:
    """How the API document types a report in ``media_type``: the JSON report, a string of text,
    or bytes (``format: binary``, which a generated client receives as a file or a byte array
    rather than decoding it as text)."""
    if media_type == "application/json":
        return {"$ref": "#/components/schemas/Report"}
    if media_type in TEXT_MEDIA_TYPES:
        return {"type": "string"}
    return _binary(media_type)


def _binary(media_type: str) -> dict:
    return {"type": "string", "format": "binary", "contentMediaType": media_type}


class Catalog:
    """What the service offers: packs, provinces, report formats (one Evaluator, built at start)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.ev = settings.evaluator()
        self.formats = report_formats(self.ev.pm)
        packs = self.ev.registry.packs.values()
        self.packs = [{"id": p.id, "revision": p.revision, "extends": p.extends, "title": dict(p.title),
                       "plugin": p.plugin} for p in packs]
        self.stamp = ";".join(f"{p['id']}={p['revision']}" for p in self.packs)
        self.year_stamp = str(settings.year) if settings.year else "record"
        self.rules = lru_cache(maxsize=256)(self._rules)
        self.template = lru_cache(maxsize=64)(self._template)

    @property
    def provinces(self) -> list[str]:
        return self.ev.provinces

    def check_province(self, province: str | None) -> str | None:
        """The plug-in id of ``province`` read as everywhere (``贵州``, ``GUIZHOU`` → ``guizhou``);
        one no plug-in gives is refused."""
        if province is None:
            return None
        key = province_key(province)
        if key in self.accepted:
            return key
        national = NATIONAL in self.accepted
        raise ServiceProblem("unknown-province", f"未知的省份 {province!r}（可选：{', '.join(self.provinces)}"
                                                     f"{'，或 全国（national）只按国家标准' if national else ''}）。"
                                                     f"Unknown province {province!r} (known: {', '.join(self.provinces)}"
                                                     f"{', or national for the national standards alone' if national else ''}).")

    @property
    def accepted(self) -> list[str]:
        """What a request may name: the provinces, and ``national`` (the national standards
        alone, as a record or ``-P`` may name it)."""
        return self.provinces + ([NATIONAL] if NATIONAL in self.ev.registry.packs else [])

    def check_format(self, fmt: str) -> None:
        if fmt not in self.formats:
            raise ServiceProblem("unknown-format", f"未知的报告格式 {fmt!r}（可选：{', '.join(sorted(self.formats))}）。"
                                                   f"Unknown report format {fmt!r} (choose from "
                                                   f"{', '.join(sorted(self.formats))}).")

    def _rules(self, province: str, year: int | None) -> bytes:
        from ..listing import rules_listing
        return orjson.dumps(rules_listing(self.ev, province, year))

    def _template(self, province: str | None) -> bytes:
        """The input template workbook, as ``edubalance template -P province`` writes it."""
        from ..rulepack import compile_ruleset
        from ..template import write_template
        provinces = [province] if province else self.provinces
        with tempfile.TemporaryDirectory(prefix="edubalance-template-") as folder:
            path = Path(folder) / "template.xlsx"
            write_template([compile_ruleset(self.ev.registry, p, None) for p in provinces], provinces, path)
            return path.read_bytes()


class Stamp:
    """ASGI middleware: a request id, the pack stamps on every response, one log line per
    request, and a problem document (never a trace) for anything that escaped the handlers."""

    def __init__(self, app: Any, catalog: Catalog):
        self.app = app
        self.catalog = catalog

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        request_id = uuid.uuid4().hex[:16]
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        sent: dict[str, Any] = {"status": None, "bytes": 0}

        async def stamped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                for name, value in (("x-edubalance-packs", self.catalog.stamp),
                                    ("x-edubalance-standards-year", self.catalog.year_stamp),
                                    ("x-request-id", request_id)):
                    if name.encode() not in names:
                        headers.append((name.encode(), value.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                sent["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, stamped_send)
        except Exception:
            log.access.exception("unhandled error (request %s)", request_id)
            if sent["status"] is None:
                problem = ServiceProblem("internal-error", "服务内部错误，详情已记入服务日志。"
                                                           "An internal error occurred; the service log has the details.")
                await problem.response(scope.get("path"))(scope, receive, stamped_send)
        finally:
            client = scope.get("client")
            log.line(request_id=request_id, who=state.get("who", "anonymous"),
                     client=client[0] if client else None, method=scope.get("method"), path=scope.get("path"),
                     status=sent["status"], duration_ms=round((perf_counter() - start) * 1000, 3),
                     bytes_out=sent["bytes"], **state.get("decision", {}))


def _problem_responses(*statuses: int) -> dict[int | str, dict]:
    doc = {"content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}}}
    out: dict[int | str, dict] = {s: {**doc, "description": status_description(s)} for s in statuses}
    out["default"] = {**doc, "description": "其他错误 Any other error"}
    return out


def create_app(settings: Settings, tokens: Tokens | None = None) -> FastAPI:
    """The application for ``settings``; with ``tokens``, every /v1 request needs one of them."""
    from fastapi_offline import FastAPIOffline

    from importlib.metadata import version

    catalog = Catalog(settings)
    pool = Pool(settings)
    reader = RequestReader(settings, catalog.check_province)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await pool.start()
        try:
            yield
        finally:
            pool.close()

    app = FastAPIOffline(title=API_TITLE, version=version("edubalance"), description=DESCRIPTION, lifespan=lifespan,
                         openapi_tags=TAGS, openapi_url="/openapi.json", docs_url="/docs", redoc_url="/redoc",
                         redirect_slashes=False)
    app.state.pool = pool
    app.state.catalog = catalog

    bearer = HTTPBearer(auto_error=False, description="--token-file 中的令牌 A token from the server's --token-file")

    async def authorised(request: Request,
                         credentials: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> None:
        # ``credentials`` puts the bearer scheme into the OpenAPI document; the check below
        # compares the whole header against every token.
        header = request.headers.get("authorization")
        who = tokens.who(header) if tokens is not None else None
        if who is None:
            raise ServiceProblem("unauthorized", "缺少或无效的令牌：请在 Authorization 头中提供 Bearer 令牌。"
                                                 "Missing or invalid token: send 'Authorization: Bearer <token>'.",
                                 headers={"WWW-Authenticate": 'Bearer realm="edubalance"'})
        request.state.who = who

    v1_deps = [Depends(authorised)] if tokens is not None else []
    errors = (400, 401, 413, 415, 422, 500, 503) if tokens is not None else (400, 413, 415, 422, 500, 503)
    get_errors = tuple(s for s in errors if s not in (413, 415, 422))
    formats = sorted(catalog.formats)

    def only_params(*names: str) -> Any:
        """A dependency refusing query parameters the operation does not have (a misspelt
        ``?yaer=2016`` would otherwise be ignored silently)."""
        async def check(request: Request) -> None:
            unknown = sorted(set(request.query_params) - set(names))
            if unknown:
                raise ServiceProblem("malformed-request", f"未知的查询参数 {', '.join(map(repr, unknown))}（可用："
                                                          f"{', '.join(names) or '无'}）。Unknown query parameter(s) "
                                                          f"{', '.join(map(repr, unknown))} (accepted: "
                                                          f"{', '.join(names) or 'none'}).")
        return Depends(check)

    # -- error handlers --------------------------------------------------------------------
    @app.exception_handler(ServiceProblem)
    async def on_problem(request: Request, exc: ServiceProblem) -> Response:
        return exc.response(request.url.path)

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else None
        problem = problem_for_status(exc.status_code, detail)
        problem.headers.update(exc.headers or {})
        return problem.response(request.url.path)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        found = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10])
        return ServiceProblem("malformed-request", f"请求参数不符合接口约定。The request does not match the API "
                                                   f"contract: {found}").response(request.url.path)

    def decision(request: Request, result: dict, **extra: Any) -> None:
        request.state.decision = {"rulesets": result.get("rulesets"), **extra}

    #: Named schemas the routes refer to (a generator makes one type of each, not one per operation).
    named: dict[str, dict] = {
        "Province": {"type": "string", "enum": catalog.accepted,
                     "description": "省份（规则包标识；national 只按国家标准）Province (rule pack id; national: the national "
                                    "standards alone)"},
        "ReportFormat": {"type": "string", "enum": formats, "description": "报告格式 Report format"},
        "SchoolRecord": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
                         "description": "一条学校记录（数据字典的字段，英文字段名或中文列名）"
                                        " One school record (data-dictionary fields, English names or Chinese labels)",
                         "examples": [EXAMPLE_SCHOOL, EXAMPLE_SCHOOL_ZH]},
        "RecordFiles": {
            "type": "object", "required": ["files"], "additionalProperties": False,
            "description": "上传的记录文件及选项 Uploaded record files and options",
            "properties": {
                "files": {"type": "array", "items": {"type": "string", "format": "binary"}, "minItems": 1,
                          "maxItems": settings.max_files,
                          "description": "学校和县级记录的文件（CSV、XLSX、XLS、JSON、NDJSON、YAML）"
                                         " Files of school and county records (CSV, XLSX, XLS, JSON, NDJSON, YAML)"},
                "province": {"$ref": "#/components/schemas/Province"},
                "year": {"type": "integer", "minimum": MIN_YEAR, "maximum": MAX_YEAR},
                "verdicts": {"type": "string", "enum": ["all", "findings"]},
                "schools_only": {"type": "boolean", "default": False}}},
    }

    named["PlanFormat"] = {"type": "string", "enum": ["json", "xlsx", "html"], "description": "方案格式 Plan format"}
    named["PlanFiles"] = {
        "type": "object", "required": ["files"], "additionalProperties": False,
        "description": "上传的记录文件及整改方案选项（本地单价请用 JSON 请求体）Uploaded record files and the plan's "
                       "options (local prices: use a JSON body)",
        "properties": {**{k: v for k, v in named["RecordFiles"]["properties"].items() if k in PLAN_FORM_FIELDS},
                       "target": {"type": "string", "enum": ["quality", "basic"], "default": "quality"}}}

    def body_request(model: type, multipart: str | None = "RecordFiles") -> dict:
        schema: dict[str, Any] = {"content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}, "required": True}
        if multipart:
            schema["content"]["multipart/form-data"] = {"schema": {"$ref": f"#/components/schemas/{multipart}"}}
        return {"requestBody": schema}

    # A format written as a folder is sent as a zip (so is one whose plug-in writes a folder unsaid).
    media_types = [_media_type(f).split(";")[0] for f in formats if not catalog.formats[f].get("folder")]
    report_content = {m: {"schema": _report_schema(m)} for m in (*media_types, "application/zip")}

    # A generated client gives an operation one return type, its first media type's: ``evaluate``
    # returns the typed Report (a client reads any other format raw); ``evaluateFile`` lists the
    # bytes first, so that the same answer comes back as a file or a byte array whatever the format.
    file_content = {m: {"schema": _report_schema(m) if m == "application/json" else _binary(m)}
                    for m in sorted(report_content, key=lambda m: m == "application/json")}
    format_query = Query("json", description="报告格式 Report format")

    def judged_headers(result: dict) -> dict[str, str]:
        """What a report or a plan says of itself: the standards years and rule sets it judged
        by, and the command line's exit code."""
        return {"X-Edubalance-Standards-Year": ",".join(sorted({k.split("/")[1] for k in result["rulesets"]}))
                or catalog.year_stamp, "X-Edubalance-Rulesets": ",".join(result["rulesets"]),
                "X-Edubalance-Exit-Code": str(result["exit_code"])}

    async def judge(request: Request, format: str, attached: bool) -> Response:
        """Judge a request's records and stream the report in ``format`` (as an attachment when
        ``attached``)."""
        catalog.check_format(format)
        folder = Path(tempfile.mkdtemp(prefix="edubalance-serve-"))
        try:
            source, options = await reader.read(request, folder)
            (folder / "out").mkdir()
            result = await pool.run("evaluate", source, {**options, "format": format}, str(folder / "out"))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        summary = result["summary"]
        decision(request, result, format=format, records=summary["records"], schools=summary["schools"],
                 counties=summary["counties"], exit_code=result["exit_code"])
        path = Path(result["path"])
        zipped = path.is_dir()
        if zipped:                            # a format written as a folder goes out as a zip archive
            path = Path(await run_in_threadpool(shutil.make_archive, str(path), "zip", str(path)))
        headers = judged_headers(result)
        if attached:
            headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
        return _stream_and_forget(path, folder, "application/zip" if zipped else _media_type(format), headers)

    # -- routes -----------------------------------------------------------------------------
    @app.post("/v1/evaluate", tags=["evaluate"], operation_id="evaluate",
              dependencies=[*v1_deps, only_params("format")], summary="评估学校和县 Judge schools and counties",
              openapi_extra=body_request(EvaluateBody),
              responses={200: {"description": "报告 The report (the same JSON as `edubalance evaluate -f json`)",
                               "content": report_content, "headers": EVALUATE_HEADERS}, **_problem_responses(*errors)})
    async def evaluate(request: Request, format: str = format_query) -> Response:
        """评估学校记录（及县级记录）并返回报告：JSON 请求体
        ``{records, counties, province?, year?, verdicts?, schools_only?}``，或以 multipart 上传文件。
        未通过校验的记录列在 ``rejected`` 中（不丢任何记录）；没有一条记录可评估时返回 422 和全部问题。

        Judge school records (and county records) and return the report: a JSON body
        ``{records, counties, province?, year?, verdicts?, schools_only?}`` or a multipart upload of files.
        A record that fails validation is listed in ``rejected`` (nothing is lost); when no
        record at all can be judged the answer is 422 with every problem."""
        return await judge(request, format, attached=format != "json")

    @app.post("/v1/evaluate/file", tags=["evaluate"], operation_id="evaluateFile", response_class=Response,
              dependencies=[*v1_deps, only_params("format")], summary="评估并下载报告文件 Judge and download the report file",
              openapi_extra=body_request(EvaluateBody),
              responses={200: {"description": "报告文件（任一格式）The report file, in any format",
                               "content": file_content, "headers": EVALUATE_HEADERS}, **_problem_responses(*errors)})
    async def evaluate_file(request: Request, format: str = format_query) -> Response:
        """与 ``evaluate`` 相同的评估和回答，作为文件下载（总带 Content-Disposition）：生成的客户端把它当作字节或文件接收，
        适合工作簿、网页、Parquet 等格式。

        The same judging and answer as ``evaluate``, as a file to download (always with a
        Content-Disposition): a generated client receives it as bytes or a file, as a workbook,
        a web page or Parquet tables need."""
        return await judge(request, format, attached=True)

    plan_media = {"json": "application/json", "xlsx": MEDIA_TYPES["xlsx"], "html": MEDIA_TYPES["html"]}
    plan_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Plan"}},
                    MEDIA_TYPES["xlsx"].split(";")[0]: {"schema": _binary(MEDIA_TYPES["xlsx"])},
                    MEDIA_TYPES["html"].split(";")[0]: {"schema": {"type": "string"}}}

    @app.post("/v1/plan", tags=["plan"], operation_id="plan",
              dependencies=[*v1_deps, only_params("format")],
              summary="整改方案：达标需新增什么、花费多少 Remediation plan: what it takes to pass, and its cost",
              openapi_extra=body_request(PlanBody, "PlanFiles"),
              responses={200: {"description": "整改方案（与 `edubalance plan -o plan.json` 相同），或其工作簿、网页 "
                                              "The plan (as `edubalance plan -o plan.json`), or its workbook or page",
                               "content": plan_content, "headers": EVALUATE_HEADERS},
                         **_problem_responses(*errors)})
    async def plan(request: Request, format: str = Query("json", description="方案格式 json、xlsx 或 html "
                                                                            "The plan's format: json, xlsx or html")
                   ) -> Response:
        """每所学校、每个县要达标最少需新增什么（教师、校舍、图书、计算机、经费…）及其费用，经重新评估复核：
        JSON 请求体 ``{records, counties, province?, year?, target?, costs?, near?}``，或以 multipart 上传文件。
        未通过校验的记录列在 ``rejected`` 中；单价为暂定占位值，请在 ``costs`` 中给出本地价格。

        The least each school and county must add to pass (teachers, floor area, books,
        computers, funds …) and what it costs, checked by judging the adjusted records again:
        a JSON body ``{records, counties, province?, year?, target?, costs?, near?}`` or a
        multipart upload of files. Rejected records are listed in ``rejected``; the bundled
        prices are provisional placeholders: give local ones in ``costs``."""
        if format not in plan_media:
            raise ServiceProblem("unknown-format", f"整改方案的格式为 json、xlsx 或 html，收到 {format!r}。"
                                                   f"A plan is json, xlsx or html; got {format!r}.")
        folder = Path(tempfile.mkdtemp(prefix="edubalance-serve-"))
        try:
            source, options = await reader.read(request, folder, PLAN_FORM_FIELDS)
            (folder / "out").mkdir()
            result = await pool.run("plan", source, {**options, "format": format}, str(folder / "out"))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        decision(request, result, format=format, schools=result["summary"]["schools"], exit_code=result["exit_code"])
        path = Path(result["path"])
        headers = judged_headers(result)
        if format != "json":
            headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
        return _stream_and_forget(path, folder, plan_media[format], headers)

    @app.post("/v1/validate", tags=["evaluate"], operation_id="validate",
              dependencies=[*v1_deps, only_params()], response_model=ValidationResult,
              summary="校验记录 Check records without judging them", openapi_extra=body_request(ValidateBody),
              responses={200: {"description": OK, "headers": STAMP_HEADERS}, **_problem_responses(*errors)})
    async def validate(request: Request) -> Response:
        """按数据字典和跨字段规则校验记录，与 ``edubalance validate -f json`` 的回答相同（被拒记录及其全部问题、警告）。

        Check records against the data dictionary and the cross-field rules: the same answer
        as ``edubalance validate -f json`` (rejected records with every problem, warnings)."""
        folder = Path(tempfile.mkdtemp(prefix="edubalance-serve-"))
        try:
            source, options = await reader.read(request, folder)
            result = await pool.run("validate", source, options)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        decision(request, result, records=result["records"], counties=result["counties"])
        return Response(result["body"], media_type="application/json")

    @app.post("/v1/evaluate/school", tags=["evaluate"], operation_id="evaluateSchool",
              dependencies=[*v1_deps, only_params("province", "year")],
              summary="评估一条学校记录 Judge one school record",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/SchoolRecord"}}}}},
              responses={200: {"description": "该校的报告条目 The school's report entry",
                               "headers": {**STAMP_HEADERS, **RULESETS_HEADER},
                               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report_school"}}}},
                         **_problem_responses(*errors)})
    async def evaluate_school(request: Request,
                              province: Optional[str] = Query(None, description="记录未填省份时使用 Province for a record without one"),
                              year: Optional[int] = Query(None, ge=MIN_YEAR, le=MAX_YEAR,
                                                          description="按该年标准评估 Judge by that year's standards")
                              ) -> Response:
        """一条学校记录 → 它的报告条目（结论、得分、状态），用于边填表边核对；被拒的记录返回 422 和它的问题。

        One school record → its report entry (verdicts, score, status), for checking a form
        as it is filled in. A rejected record is 422 with its problems."""
        province = catalog.check_province(province)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ServiceProblem("unsupported-media-type", "请求内容类型应为 application/json。Expected application/json.")
        result = await pool.run("evaluate_school", await request.body(), province, year)
        decision(request, result, records={"read": 1, "evaluated": 1}, school_status=result["status"])
        year_used = result["rulesets"][0].split("/")[1]
        return Response(result["body"], media_type="application/json",
                        headers={"X-Edubalance-Standards-Year": year_used,
                                 "X-Edubalance-Rulesets": result["rulesets"][0]})

    @app.get("/v1/rules", tags=["rules"], operation_id="listRules",
             dependencies=[*v1_deps, only_params("province", "year")], response_model=list[RulesResult],
             summary="规则清单 The rules in force", responses={200: {"description": OK, "headers": STAMP_HEADERS},
                                                            **_problem_responses(*get_errors)})
    async def rules(province: Optional[str] = Query(None, description="省份（默认全部）Province (default: all)"),
                    year: Optional[int] = Query(None, ge=MIN_YEAR, le=MAX_YEAR,
                                                description="只列该年有效的规则 Only the rules in force that year")
                    ) -> Response:
        """一个省份及其基础规则包的每条规则：阈值、状态、来源，与 ``edubalance rules -f json`` 的输出相同。

        Each rule of a province and its base pack: threshold, status, source — what
        ``edubalance rules -f json`` prints."""
        province = catalog.check_province(province)
        parts = [catalog.rules(p, year) for p in ([province] if province else catalog.provinces)]
        return Response(b"[" + b",".join(parts) + b"]", media_type="application/json")

    @app.get("/v1/template", tags=["rules"], operation_id="getTemplate", response_class=Response,
             dependencies=[*v1_deps, only_params("province")],
             summary="填报模板 The input template workbook",
             responses={200: {"description": "填报模板（Excel 工作簿）The input template (an Excel workbook)",
                              "content": {MEDIA_TYPES["xlsx"]: {"schema": _binary(MEDIA_TYPES["xlsx"])}},
                              "headers": {**STAMP_HEADERS, "Content-Disposition": {
                                  "description": "文件名 The file name", "schema": {"type": "string"}}}},
                        **_problem_responses(*get_errors)})
    async def template(province: Optional[str] = Query(None, description="省份（默认全部）Province (default: all)")
                       ) -> Response:
        """该省规则需要的学校和县级数据列（列名带单位、批注说明填什么、下拉框、数值校验）及填表说明，与
        ``edubalance template -P 省份`` 写出的相同：供调用系统让县里下载填写。

        The columns the province's rules need (units in the headers, a comment on each saying
        what to enter, dropdowns, number checks), a county sheet and instructions: what
        ``edubalance template -P province`` writes, for a calling system to hand to counties."""
        province = catalog.check_province(province)
        body = await run_in_threadpool(catalog.template, province)
        name = f"{province or '全部省份'}-学校数据模板.xlsx"
        disposition = f"attachment; filename=\"template.xlsx\"; filename*=UTF-8''{quote(name)}"
        return Response(body, media_type=MEDIA_TYPES["xlsx"], headers={"Content-Disposition": disposition})

    @app.get("/v1/packs", tags=["rules"], operation_id="listPacks",
             dependencies=[*v1_deps, only_params()], response_model=PacksResult,
             summary="规则包与修订版 Rule packs and revisions", responses={200: {"description": OK, "headers": STAMP_HEADERS},
                                                                      **_problem_responses(*get_errors)})
    async def packs() -> Response:
        """已加载的规则包（标识、修订版、基础包）、省份和报告格式。

        The loaded rule packs (id, revision, base pack), the provinces and report formats."""
        return Response(orjson.dumps({"packs": catalog.packs, "provinces": catalog.provinces, "formats": formats,
                                      "standards_year": settings.year}), media_type="application/json")

    @app.get("/healthz", tags=["health"], operation_id="getHealth",
             response_model=Health, summary="存活 Liveness",
             response_description=OK)
    async def healthz() -> dict:
        """服务进程在应答（无需令牌）。The process answers (no token needed)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], operation_id="getReadiness",
             response_model=Readiness, summary="就绪 Readiness", response_description=OK,
             responses={503: {"model": Readiness, "description": "没有可用的评估进程 No evaluation process is up"}})
    async def readyz() -> Response:
        """至少有一个评估进程在运行时就绪（无需令牌）。Ready when at least one evaluation process is up
        (no token needed)."""
        alive = pool.alive
        body = {"status": "ready" if alive else "not_ready", "workers": pool.size, "workers_alive": alive}
        return Response(orjson.dumps(body), status_code=200 if alive else 503, media_type="application/json")

    for path, endpoint in (("/healthz", healthz), ("/readyz", readyz)):     # a monitor's HEAD, as GET
        app.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)

    def openapi() -> dict:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                              tags=app.openapi_tags)
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            components.update(report_components())
            components.update(plan_components())
            components.update(rule_components())
            components.update(named)
            for model in (EvaluateBody, ValidateBody, PlanBody, Price, ProblemDocument):
                components[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
            refine(components)
            for path in doc["paths"].values():
                for operation in path.values():
                    for param in operation.get("parameters", ()):
                        options = param["schema"].get("anyOf", ())
                        if len(options) == 2 and {"type": "null"} in options:    # Optional: left out, never null
                            param["schema"] = next(o for o in options if o != {"type": "null"})
                        kind = PARAMETER_TYPES.get((operation.get("operationId"), param["name"]),
                                                   PARAMETER_TYPES.get(param["name"]))
                        if kind:
                            param["schema"] = {"$ref": f"#/components/schemas/{kind}",
                                               **{k: v for k, v in param["schema"].items() if k == "default"}}
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(TrailingSlash)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(Stamp, catalog=catalog)
    return app


def _stream_and_forget(path: Path, folder: Path, media_type: str, headers: dict[str, str]) -> Response:
    """Send the report file, whose request folder is deleted at once: the open file keeps its
    data until sent, and a client that goes away leaves nothing behind on disk."""
    f = open(path, "rb")
    size = os.fstat(f.fileno()).st_size
    shutil.rmtree(folder, ignore_errors=True)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while chunk := await run_in_threadpool(f.read, 1 << 20):
                yield chunk
        finally:
            f.close()

    return StreamingResponse(chunks(), media_type=media_type, headers={**headers, "Content-Length": str(size)})
