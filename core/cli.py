"""The ``edubalance`` command.

Exit codes (as black's): 0 everything evaluated and passing, 1 findings (a failed or incomplete
school or county, or a rejected record), 2 a usage or input error (a bad file, an unknown
province, an invalid rule file). Errors are one clear message on stderr, never a traceback.
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from .loading import InputError
from .plugins import PluginError
from .rulepack import RulePackError

EXAMPLES = """\b
Examples:
  edubalance demo guizhou                      evaluate a sample county
  edubalance validate schools.csv              check a file before an evaluation
  edubalance evaluate schools.csv county.csv --province shaanxi
  edubalance evaluate schools.xlsx --format json -o report.json
  edubalance evaluate schools.csv county.csv -o report.xlsx   Excel (or .html)
  edubalance template -P shaanxi -o 学校数据模板.xlsx          an input template
  edubalance rules --province anhui --year 2016
  edubalance test-packs                        run every pack's own cases
  edubalance plan schools.csv county.csv -o plan.xlsx   what it takes to pass, and its cost
"""


def fail(message: str, code: int = 2) -> None:
    click.echo(f"edubalance: error: {message}", err=True)
    sys.exit(code)


def friendly(func: Callable) -> Callable:
    """Turn input, rule-file and plug-in errors into one message and exit code 2."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            fail(str(exc))
        except (RulePackError, PluginError) as exc:
            fail(str(exc))
        except ValueError as exc:
            fail(str(exc))
    return wrapper


def make_evaluator(province=None, year=None, engine="auto", overrides=(), plugins=(), verdicts="all",
                   timings=None):
    from .evaluator import Evaluator
    return Evaluator(province=province, year=year, engine=engine, overrides=overrides, plugins=plugins,
                     verdicts=verdicts, timings=timings)


def emit(text: str, output: str | None) -> None:
    from .serialise import clean_text
    text = clean_text(text)
    if output:
        from .output import OutputError, write_bytes
        try:
            write_bytes(text.encode("utf-8"), output)
        except OutputError as exc:
            fail(str(exc))
        click.echo(f"已写入 written to {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def announce(loaded, files) -> None:
    """Say on stderr which sheets were read and what was done to whole files (ignored columns,
    converted units, skipped rows); refuse an input without a record (exit 2)."""
    for line in loaded.sheets:
        click.echo(f"edubalance: {line}", err=True)
    for p in loaded.notices:
        click.echo(f"edubalance: {p.file}: {p.code} {p.message}", err=True)
    if loaded.empty:
        skipped = (f"，跳过 {len(loaded.skipped)} 行非记录行 / {len(loaded.skipped)} row(s) skipped as not records"
                   if loaded.skipped else "")
        fail(f"{', '.join(files)}: 未找到学校或县级记录（只有表头，或没有数据行{skipped}）/ no records found "
             f"(only a header, or no rows)")


#: From this many bytes of input, the terminal says that the files are being read.
READING_NOTICE_BYTES = 1 << 20

def emit_report(ev, report, fmt: str | None, output: str | None, progress=None) -> None:
    """Write the report through the plug-ins in the format asked for (by name, or by the
    suffix of ``output``); ``progress`` is told how many school entries are written."""
    from .output import OutputError, format_for, write_report
    try:
        write_report(ev.pm, report, format_for(ev.pm, fmt, output), output, progress)
    except OutputError as exc:
        fail(str(exc))
    finally:
        if progress:
            progress.close()
    if output:
        click.echo(f"报告已写入 report written to {output}", err=True)


province_opt = click.option("--province", "-P", metavar="ID",
                            help="Province (plug-in id, e.g. guizhou) for records whose file has no 省份 column.")


def _year(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """A year no record could have is a usage error (exit 2), never silently ignored."""
    if value is None:
        return value
    from .evaluator import check_year
    try:
        check_year(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


year_opt = click.option("--year", "-y", type=int, metavar="YEAR", callback=_year,
                        help="Judge by the standards in force in YEAR instead of each record's own 学年.")
plugin_opt = click.option("--plugin", "-p", "plugins", multiple=True, metavar="MODULE",
                          help="Load this plug-in module too (repeatable); with "
                               "EDUBALANCE_DISABLE_PLUGIN_AUTOLOAD=1 only these load.")
override_opt = click.option("--override", "overrides", multiple=True, type=click.Path(exists=True, dir_okay=False),
                            metavar="FILE", help="A rule file that patches a pack (e.g. a corrected threshold); repeatable.")
format_opt = click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table",
                          show_default=True, help="table for people, json for systems.")
report_format_opt = click.option("--format", "-f", "fmt", metavar="FORMAT", default=None,
                                 help="报告格式 report format: table (default), json, xlsx, html, ndjson (one school or "
                                      "county a line), parquet (a folder of tables), or one a plug-in adds; "
                                      "without it, the suffix of -o decides (.json, .xlsx, .html, .ndjson, .parquet …).")
output_opt = click.option("--output", "-o", type=click.Path(), metavar="FILE",
                          help="Write the report to FILE instead of the terminal (for parquet: a folder).")


def set_limits(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> None:
    from .limits import LIMITS, set_limit
    for item in values:
        name, sep, raw = item.partition("=")
        try:
            if not sep:
                raise ValueError(f"应为 NAME=VALUE / expected NAME=VALUE, got {item!r}")
            set_limit(LIMITS, name.strip(), raw.strip())
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@click.group(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edubalance")
@click.option("--limit", multiple=True, metavar="NAME=VALUE", callback=set_limits, expose_value=False,
              is_eager=True, help="输入限制 an input limit: max_file_bytes, max_cell_chars, max_depth, max_yaml_aliases, "
                                  "max_xlsx_bytes, max_xlsx_ratio (also EDUBALANCE_MAX_…; see the README).")
def main() -> None:
    """Judge compulsory-education schools and counties against national and provincial
    balanced-development standards (义务教育均衡发展), and merge the verdicts into one score.

    Input files: CSV (UTF-8 or GBK), XLSX, XLS, JSON, NDJSON or YAML, one row per school record
    (a nine-year school is two rows: primary and junior). Column headers may be the English
    field names or the Chinese labels (学校标识码, 学段, 在校生数 …).
    """


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@province_opt
@plugin_opt
@format_opt
@output_opt
@friendly
def validate(files, province, plugins, fmt, output):
    """Check FILES against the record schema and the cross-field rules, without judging.

    Every problem is listed in one pass with file, row, school, field (Chinese label), the value
    found and what was expected. Rejected rows are listed, never dropped. Exit 1 if any row is
    rejected or has a warning.
    """
    ev = make_evaluator(province=province, plugins=plugins)
    loaded = ev.load(files)
    announce(loaded, files)
    checked = ev.check(loaded)
    data = checked.to_dict()
    if fmt == "json":
        emit(json.dumps(data, ensure_ascii=False, indent=2), output)
    else:
        lines = [f"Records 记录: {data['records']['read']} read, {data['records']['accepted']} accepted, "
                 f"{data['records']['rejected']} rejected"
                 + (f", {data['records']['skipped']} skipped" if data['records']['skipped'] else "")]
        if checked.county_read:
            lines.append(f"County records 县级记录: {checked.county_read} read, {data['counties']['rejected']} rejected")
        for rej in data["rejected"]:
            lines.append(f"{rej['file']}:{rej['row']} {rej.get('school_id') or rej.get('county_code') or '?'} "
                         f"{rej.get('school_name') or ''}".rstrip())
            for p in rej["problems"]:
                lines.append(f"    {p['code']} {p['message']}")
        for p in data["warnings"]:
            lines.append(f"{p['file']}:{p['row']} warning {p['code']} {p['message']}")
        if not data["rejected"] and not data["warnings"]:
            lines.append("No problems found. 未发现问题。")
        emit("\n".join(lines) + "\n", output)
    sys.exit(1 if data["rejected"] or data["warnings"] else 0)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@province_opt
@year_opt
@click.option("--engine", "-e", type=click.Choice(["auto", "vector", "durable"]), default="auto", show_default=True,
              help="Rule back end: durable (durable-rules) or vector (columnar, for large files); "
                   "auto uses durable-rules up to 200 records.")
@click.option("--verdicts", type=click.Choice(["all", "findings"]), default="all", show_default=True,
              help="Per school, list every rule's verdict (all) or only the failed and missing-data ones "
                   "(findings; counts, scores, funding and status stay complete) — for national-scale files.")
@click.option("--timings", is_flag=True, help="Print the seconds each stage took to stderr.")
@override_opt
@plugin_opt
@report_format_opt
@output_opt
@friendly
def evaluate(files, province, year, engine, verdicts, timings, overrides, plugins, fmt, output):
    """Judge the school (and county) records in FILES.

    County records (one row per county and year: government items, vetoes, satisfaction) may be
    in their own file or in the same file with an empty 学校标识码. Output leads with the summary,
    then counties, failing schools and rejected rows. A JSON report of more than 10,000 schools
    is written compact (no indentation).
    """
    from time import perf_counter

    from .progress import ProgressBar
    start = perf_counter()
    times: dict[str, float] | None = {} if timings else None
    ev = make_evaluator(province, year, engine, overrides, plugins, verdicts, times)
    if times is not None:
        times["setup"] = perf_counter() - start
    if sum(Path(f).stat().st_size for f in files if Path(f).is_file()) >= READING_NOTICE_BYTES:
        ProgressBar(0, min_total=0).stage("load")
    loaded = ev.load(files)
    announce(loaded, files)
    bar = ProgressBar(len(loaded.schools))
    ev.on_stage = bar.stage
    checked = ev.check_timed(loaded)
    del loaded
    report = ev.evaluate_checked(checked, list(files), bar)
    del checked
    write_start = perf_counter()
    bar.stage("write", report.evaluated)
    emit_report(ev, report, fmt, output, bar)
    bar.close()
    if times is not None:
        times["write"] = perf_counter() - write_start
        times["total"] = perf_counter() - start
        click.echo("timings 计时 (s): " + ", ".join(f"{k} {v:.3f}" for k, v in times.items()), err=True)
    sys.exit(report.exit_code)


@main.command()
@plugin_opt
@friendly
def plugins(plugins):
    """List the plug-ins, their rule packs (id, revision) and the hooks each implements."""
    from .plugins import describe_plugins
    ev = make_evaluator(plugins=plugins)
    by_plugin: dict[str, list[str]] = {}
    for pack in ev.registry.packs.values():
        by_plugin.setdefault(pack.plugin, []).append(
            f"{pack.id} {pack.revision}" + (f" (extends {pack.extends})" if pack.extends else ""))
    for info in describe_plugins(ev.pm):
        click.echo(f"{info['name']}  {info['distribution']}".rstrip())
        for p in by_plugin.get(info["module"], []):
            click.echo(f"    pack: {p}")
        click.echo(f"    hooks: {', '.join(info['hooks']) or '—'}")


@main.command()
@province_opt
@year_opt
@override_opt
@plugin_opt
@format_opt
@friendly
def rules(province, year, overrides, plugins, fmt):
    """List the rules of a province and its base pack: threshold, status and source.

    With --year, only what was in force that year (e.g. --province shaanxi --year 2016).
    A threshold marked * is provisional.
    """
    from .listing import rules_listing, render_rules
    ev = make_evaluator(overrides=overrides, plugins=plugins)
    targets = [province] if province else ev.provinces
    data = [rules_listing(ev, p, year) for p in targets]
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(render_rules(d) for d in data))


@main.command()
@click.argument("province", required=False)
@format_opt
@click.option("--engine", "-e", type=click.Choice(["auto", "vector", "durable"]), default="auto", show_default=True)
@friendly
def demo(province, fmt, engine):
    """Evaluate the sample county shipped with a province plug-in (default: guizhou)."""
    ev = make_evaluator(engine=engine)
    demos: dict[str, list[str]] = {}
    for found in ev.pm.hook.edubalance_demo_data():
        demos.update(found or {})
    if not demos:
        fail("no plug-in ships demo data")
    province = province or ("guizhou" if "guizhou" in demos else sorted(demos)[0])
    if province not in demos:
        fail(f"no demo for '{province}' (available: {', '.join(sorted(demos))})")
    report = ev.evaluate_files(demos[province])
    if fmt == "table":
        click.echo(f"示例县 Demo: sample county of {province} ({', '.join(Path(p).name for p in demos[province])})\n")
    emit_report(ev, report, fmt, None)


@main.command()
@province_opt
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="The template to write (default 学校数据模板.xlsx, or .csv with --format csv).")
@click.option("--format", "-f", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True,
              help="xlsx: one workbook (schools, county, instructions); csv: two CSV files.")
@plugin_opt
@friendly
def template(province, output, fmt, plugins):
    """Write an input template: the columns the province's rules need, units in the headers.

    The workbook has a comment on every header saying what to enter, dropdowns for 学段,
    办学类型, 城乡类型 and 是/否, whole numbers ≥ 0 for counts, a county sheet and 填表说明.
    """
    from .rulepack import compile_ruleset
    from .template import write_template
    ev = make_evaluator(plugins=plugins)
    provinces = [province] if province else ev.provinces
    for p in provinces:
        if p not in ev.provinces:
            fail(f"no province '{p}' (loaded: {', '.join(ev.provinces)})")
    from .output import OutputError, write_to
    target = Path(output or f"学校数据模板.{fmt}")
    rulesets = [compile_ruleset(ev.registry, p, None) for p in provinces]
    try:
        if fmt == "xlsx":           # one workbook: written beside the target and renamed into place
            write_to(str(target), lambda path: write_template(rulesets, provinces, path, fmt))
            written = [target]
        elif not target.parent.is_dir():
            raise OutputError(f"输出目录不存在 the folder of {target} does not exist")
        else:
            written = write_template(rulesets, provinces, target, fmt)
    except (OutputError, OSError) as exc:
        fail(str(exc))
    for path in written:
        click.echo(f"模板已写入 template written to {path}", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址 Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="端口 Port.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, metavar="N",
              help="评估进程数 Evaluation processes (default: one per core, at most 4).")
@province_opt
@year_opt
@click.option("--engine", "-e", type=click.Choice(["auto", "vector", "durable"]), default="auto", show_default=True)
@click.option("--token-file", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="令牌文件：每行一个令牌（可在前面加客户名和空格）；设定后 /v1 需要 Bearer 令牌。"
                   "Bearer tokens, one a line (optionally 'NAME TOKEN'); then every /v1 request needs one.")
@click.option("--allow-unauthenticated", is_flag=True,
              help="允许在非本机地址上无令牌运行 Listen beyond loopback without a token.")
@click.option("--max-body-mb", type=click.FloatRange(min=0.001), default=32, show_default=True,
              help="请求体上限 Largest request body (MiB).")
@click.option("--max-records", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="每次请求的记录上限 Most records per request.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60, show_default=True,
              help="每次请求的时间上限（秒）Seconds a request may take.")
@click.option("--max-queue", type=click.IntRange(min=0), default=64, show_default=True,
              help="等待评估进程的请求上限，超出回 503 Requests that may wait for a busy worker; more get 503.")
@override_opt
@plugin_opt
@friendly
def serve(host, port, workers, province, year, engine, token_file, allow_unauthenticated, max_body_mb, max_records,
          timeout, max_queue, overrides, plugins):
    """以 HTTP/JSON 服务提供评估。Serve the evaluator over HTTP/JSON (OpenAPI 3.1 at /openapi.json,
    docs at /docs).

    The packs are compiled once at start; evaluations run in worker processes. Without
    --token-file the service listens only on a loopback address (unless told otherwise).
    """
    from .service.auth import Tokens
    from .service.server import serve as run
    from .service.settings import Settings, default_workers

    settings = Settings(province=province, year=year, engine=engine, overrides=tuple(overrides),
                        plugins=tuple(plugins), workers=workers or default_workers(),
                        max_body_bytes=int(max_body_mb * 1024 * 1024), max_records=max_records, timeout=timeout,
                        max_queue=max_queue)
    make_evaluator(province, year, engine, overrides, plugins)       # bad packs or options: exit 2 now
    run(settings, host, port, Tokens.from_file(token_file) if token_file else None, allow_unauthenticated)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@province_opt
@year_opt
@click.option("--engine", "-e", type=click.Choice(["auto", "vector", "durable"]), default="auto", show_default=True,
              help="Rule back end the plan is checked with.")
@click.option("--target", type=click.Choice(["quality", "basic"]), default="quality", show_default=True,
              help="County goal: quality = each 2017 CV under its limit; basic = the 2012 composite CV.")
@click.option("--costs", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Local unit prices (YAML: item: yuan) instead of the packs' provisional placeholders.")
@click.option("--near", type=float, default=0.05, show_default=True,
              help="A rule passing after the plan that would fail with this share more pupils "
                   "is listed as near-failing.")
@click.option("--apply", "apply_path", type=click.Path(exists=True, dir_okay=False), metavar="PLAN",
              help="Apply the plan PLAN (JSON) to FILES and write the adjusted records to -o (CSV).")
@click.option("--what-if", "what_if_path", type=click.Path(exists=True, dir_okay=False), metavar="CHANGES",
              help="Apply CHANGES (YAML: add, move, merge, close) to FILES and write the records to -o (CSV).")
@override_opt
@plugin_opt
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="plan.json, plan.xlsx; with --apply, adjusted.csv.")
@friendly
def plan(files, province, year, engine, target, costs, near, apply_path, what_if_path, overrides, plugins, output):
    """The least additions that make each school and county pass, what they cost (整改方案).

    Per school: the least teachers, rooms, m², books, computers and yuan its failing rules need,
    solved together (rules share inputs). Per county and stage: the least additions that bring
    each CV under its limit, lowest per-pupil schools first. The plan is checked by judging the
    adjusted records again. Exit 0 when every school and county passes after the plan, 1 when
    something no addition fixes (class size, missing data…) remains.

    --apply PLAN -o adjusted.csv writes FILES with a plan applied; --what-if CHANGES -o out.csv
    writes them after hand-made changes (add, move or merge resources, close or merge a school),
    for `edubalance evaluate` to judge.
    """
    from .plan import excel, inputs, text, whatif
    ev = make_evaluator(province, year, engine, overrides, plugins)
    if apply_path or what_if_path:
        if apply_path and what_if_path:
            fail("--apply 与 --what-if 只能选一个 / --apply and --what-if are one at a time")
        if not output or Path(output).suffix.lower() != ".csv":
            fail("--apply、--what-if 需要 -o 指定 CSV 输出文件 / need -o FILE.csv for the adjusted records")
        rows, _ = ev.load(files)
        checked = ev.validate_rows(rows)
        records = [dict(r) for r in checked.accepted]
        if apply_path:
            adjusted = whatif.apply_plan(inputs.read_plan(apply_path), records, apply_path)
        else:
            adjusted = whatif.what_if(records, whatif.read_changes(what_if_path), what_if_path)
        from .output import OutputError, write_to
        try:
            write_to(output, lambda path: whatif.write_records(adjusted, path))
        except OutputError as exc:
            fail(str(exc))
        n = len(adjusted)
        click.echo(f"已写入调整后的记录 {n} 条 / {n} adjusted records written to {output}", err=True)
        sys.exit(1 if checked.rejected else 0)
    suffix = Path(output).suffix.lower() if output else ""
    if suffix not in ("", ".json", ".xlsx", ".txt"):
        fail(f"-o {output}: 方案输出为 .json、.xlsx 或 .txt（调整后的记录用 --apply）/ "
             f"a plan is written as .json, .xlsx or .txt (adjusted records: --apply)")
    document = ev.plan(files, target=target, costs=costs, near=near)
    if not document["schools"] and not document["rejected"]:
        fail(f"未找到学校记录 / no school records found in {', '.join(files)} (only a header, or no rows)")
    if suffix == ".xlsx":
        from .output import OutputError, write_to
        try:
            write_to(output, lambda path: excel.write_workbook(document, path))
        except OutputError as exc:
            fail(str(exc))
        click.echo(f"方案已写入 plan written to {output}", err=True)
    elif suffix == ".json":
        emit(json.dumps(document, ensure_ascii=False, indent=1), output)
    else:
        emit(text.render(document), output)
    sys.exit(text.exit_code(document))


@main.command("test-packs")
@click.argument("provinces", nargs=-1)
@plugin_opt
@friendly
def test_packs(provinces, plugins):
    """Run the cases each rule pack carries beside its rules (all packs, or those named).

    Each case is a small record with the expected verdict per rule. Fails (exit 1) if a case
    fails or if a rule of the pack has no case expecting it to pass and one expecting it to fail.
    """
    from .packtests import run_pack_cases
    ev = make_evaluator(plugins=plugins)
    ok = True
    for pack_id in provinces or sorted(ev.registry.packs):
        if pack_id not in ev.registry.packs:
            fail(f"no rule pack '{pack_id}' (loaded: {', '.join(sorted(ev.registry.packs))})")
        result = run_pack_cases(ev, pack_id)
        click.echo(result.render())
        ok = ok and result.ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
