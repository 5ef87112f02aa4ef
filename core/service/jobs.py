"""What an evaluation process does: parse a request, judge it, render the answer.

A process keeps one :class:`~edubalance.Evaluator` and reuses it for every request, whatever
its province, year and verdicts (:meth:`~edubalance.Evaluator.with_options`): packs are read
once, each rule set compiled once, and the rule back ends (durable-rules rulesets) live as
long as the process.
One process judges one request at a time, so an Evaluator is never used by two threads.

Every job returns plain data (bytes, dicts) that pickles cheaply; a large report is written
to a file in the request's folder and only its path goes back.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from pydantic import TypeAdapter, ValidationError

from ..errors import InvalidInput
from ..loading import InputError, no_records_text
from ..output import report_formats
from ..serialise import dumps
from ..validation import given_rows
from .contract import EvaluateBody, PlanBody, Record, ValidateBody
from .problems import ServiceProblem, rejected_problems
from .settings import Settings

_record = TypeAdapter(Record)


def _parse(model: Any, body: bytes) -> Any:
    """A JSON body checked against its envelope; 400 with pydantic's findings otherwise."""
    try:
        return model.validate_json(body) if isinstance(model, TypeAdapter) else model.model_validate_json(body)
    except ValidationError as exc:
        found = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}"
                          for e in exc.errors(include_url=False)[:10])
        raise ServiceProblem("malformed-request", f"请求体不符合接口约定。The body does not match the API "
                                                  f"contract: {found}") from None


class Jobs:
    """The evaluator of one process and the jobs it runs."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.base = settings.evaluator()

    def evaluator(self, province: str | None, year: int | None, verdicts: str = "all") -> Any:
        """The process's one Evaluator with this request's defaults (packs read and rule sets
        compiled once per process, whatever the province, year and verdicts asked for)."""
        s = self.settings
        province = province or s.province
        try:
            return self.base.with_options(province, year or s.year, verdicts)
        except InvalidInput as exc:
            if any(p.field == "province" for p in exc.problems):
                raise ServiceProblem("unknown-province", exc.problems[0].message, exc.to_list()) from None
            raise

    def _check_count(self, n: int) -> None:
        if n > self.settings.max_records:
            raise ServiceProblem("too-large", f"一次请求最多 {self.settings.max_records} 条记录，收到 {n} 条。"
                                              f"At most {self.settings.max_records} records per request; got {n}.")

    def _read(self, source: tuple, options: dict, model: Any) -> tuple[Any, Any, dict]:
        """What both jobs read first, whatever the request's form: ``(evaluator, checked, options)``.
        A JSON body (``("json", bytes)``) is parsed and its records checked; uploaded files
        (``("files", folder, [names])``) are read from the request's folder. Either way the
        record count is bounded before anything is checked or judged, and an input without a
        record is refused (every file row skipped names its rows)."""
        if source[0] == "json":
            body = _parse(model, source[1])
            if not body.records and not body.counties:
                raise ServiceProblem("no-records", "请求中没有学校或县级记录（records、counties 均为空）。"
                                                   "The request holds no school or county record "
                                                   "(records and counties are both empty).")
            self._check_count(len(body.records) + len(body.counties))         # before any record is read
            options = {**options, **body.model_dump(exclude={"records", "counties"})}
            ev = self.evaluator(body.province, options.get("year"), options.get("verdicts") or "all")
            given: tuple = (given_rows(body.records, "<records>"), given_rows(body.counties, "<counties>"))
            return ev, ev.check_timed(*given), options
        ev = self.evaluator(options.get("province"), options.get("year"), options.get("verdicts") or "all")
        with _in_folder(source[1]):
            loaded = ev.load(source[2])
        schools, counties = loaded
        self._check_count(len(schools) + len(counties))
        if not len(schools) and not len(counties):      # (a JSON body without records: refused above)
            raise _no_records([(s.file, s.row) for s in loaded.skipped])
        return ev, ev.check_timed(loaded), options

    # -- evaluate --------------------------------------------------------------------------
    def evaluate(self, source: tuple, options: dict, out_dir: str) -> dict:
        """Judge a JSON body or uploaded files (:meth:`_read`) and write the report in
        ``options["format"]`` into ``out_dir``."""
        ev, checked, options = self._read(source, options, EvaluateBody)
        files = list(source[2]) if source[0] != "json" else []
        report = ev.evaluate_checked(checked, files, counties=not options.get("schools_only", False))
        if report.evaluated == 0 and (report.rejected or report.county_rejected):
            raise ServiceProblem("records-rejected", "没有可评估的记录：每条记录都未通过校验。"
                                                     "Nothing could be judged: every record was rejected.",
                                 rejected_problems(report.rejected + report.county_rejected))
        fmt = options.get("format") or "json"
        formats = report_formats(ev.pm)
        suffix = (formats[fmt].get("suffixes") or [""])[0]
        path = Path(out_dir) / f"report{suffix}"
        if fmt == "json":
            # The command line's JSON, compact: indenting 10,000 schools takes 40 times as long
            # (8 s against 0.2 s), and the systems that call the service do not read whitespace.
            with open(path, "wb") as f:
                report.write_json(f)
        elif not ev.pm.hook.edubalance_render_report(report=report, fmt=fmt, path=path, progress=None):
            raise ServiceProblem("unknown-format", f"没有插件生成 {fmt!r} 格式。No plug-in writes the format {fmt!r}.")
        summary = report.summary()
        return {"path": str(path), "format": fmt, "summary": summary, "counties": len(report.counties),
                "rulesets": sorted(report.rulesets), "packs": report.packs, "exit_code": report.exit_code}

    def evaluate_school(self, body: bytes, province: str | None, year: int | None) -> dict:
        """One school record → its report entry (as :meth:`Evaluator.evaluate_record`; a lone
        record skips the county stage). A rejected record is validated once, its problems returned."""
        record = _parse(_record, body)
        ev = self.evaluator(province, year)
        try:
            entry = ev.evaluate_record(record)
        except InvalidInput as exc:
            raise ServiceProblem("records-rejected", "记录未通过校验，未评估。The record was rejected and not judged.",
                                 exc.to_list()) from None
        return {"body": dumps(entry), "rulesets": [entry["ruleset"]], "status": entry["status"]}

    # -- plan ------------------------------------------------------------------------------
    def plan(self, source: tuple, options: dict, out_dir: str) -> dict:
        """The remediation plan for a JSON body or uploaded files (:meth:`_read`), written in
        ``options["format"]`` (json, xlsx or html) into ``out_dir``, as ``edubalance plan -o``."""
        from ..plan import Planner
        from ..plan.costs import GIVEN, costs_from
        from ..plan.excel import write_workbook
        from ..plan.text import exit_code
        from ..reports.html import write_plan_html
        from ..reports.plan_words import rule_catalogues

        ev, checked, options = self._read(source, options, PlanBody)
        costs = options.get("costs")
        if costs is not None:                             # a price's unsaid parts are left to the pack
            costs = {k: {a: b for a, b in v.items() if b is not None} if isinstance(v, dict) else v
                     for k, v in costs.items()}
            try:
                costs_from(costs, GIVEN)                  # checked before any planning
            except InputError as exc:
                raise ServiceProblem("malformed-request", f"costs 单价有误 costs: {exc.message}") from None
        if not checked.schools.accepted:
            if checked.rejected:
                raise ServiceProblem("records-rejected", "没有可规划的学校：每条学校记录都未通过校验。"
                                                         "Nothing to plan: every school record was rejected.",
                                     rejected_problems([r.to_dict() for r in checked.rejected]))
            raise ServiceProblem("no-records", "整改方案需要学校记录（请求中只有县级记录）。"
                                               "A plan needs school records (the request holds county records only).")
        files = list(source[2]) if source[0] != "json" else []
        plan = Planner(ev, target=options.get("target") or "quality", costs=costs,
                       near=options.get("near", 0.05)).plan(checked, files)
        fmt = options.get("format") or "json"
        path = Path(out_dir) / f"plan.{fmt}"
        catalogues = rule_catalogues(ev, plan)
        if fmt == "xlsx":
            write_workbook(plan, path, catalogues)
        elif fmt == "html":
            write_plan_html(plan, path, catalogues)
        else:
            path.write_bytes(dumps(plan))
        return {"path": str(path), "format": fmt, "summary": plan["summary"], "rulesets": list(catalogues),
                "exit_code": exit_code(plan)}

    # -- validate --------------------------------------------------------------------------
    def validate(self, source: tuple, options: dict) -> dict:
        """Check records without judging them: the same answer as ``edubalance validate -f json``."""
        _, checked, _ = self._read(source, options, ValidateBody)
        data = checked.to_dict()
        return {"body": dumps(data), "records": data["records"], "counties": data["counties"]}


def _no_records(skipped: Any) -> ServiceProblem:
    """Uploaded files without a record (only a header, or every row skipped as a totals,
    signature or note row, named by file and rows as the command line says): the same kind as
    a JSON body without one."""
    zh, en = no_records_text(skipped)
    return ServiceProblem("no-records", f"{zh}。{en[0].upper()}{en[1:]}.")


@contextmanager
def _in_folder(folder: str) -> Iterator[None]:
    """Uploaded files are read by their own names from the request's folder, so that the report
    names them as the client did. (A worker runs one job at a time: changing its working
    directory affects no other request.)"""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)
