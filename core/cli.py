"""The ``edubalance`` command.

Exit codes (as black's): 0 everything evaluated and passing, 1 findings (a failed or incomplete
school or county, or a rejected record), 2 a usage or input error (a bad file, an unknown
province, an invalid rule file). Errors are one clear message on stderr, never a traceback.
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

# Arrow's default allocator (mimalloc) reserves ~1 GB of address space at its first use: a run
# under a virtual-memory limit (``ulimit -v``, a service's sandbox) would fail for memory it never
# uses. The system allocator measured as fast for our reports. Set before pyarrow is imported.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

from .console import INTERRUPTED, INTERRUPTED_MESSAGE
from .errors import InvalidInput
from .loading import InputError
from .plugins import PluginError
from .rulepack import RulePackError

EXAMPLES = """\b
示例 Examples:
  edubalance demo guizhou                      评估示例县 evaluate a sample county
  edubalance validate schools.csv              评估前检查文件 check a file before an evaluation
  edubalance evaluate schools.csv county.csv --province shaanxi
  edubalance evaluate schools.xlsx --format json -o report.json
  edubalance evaluate schools.csv county.csv -o report.xlsx   Excel 报告（或 .html）Excel (or .html)
  edubalance template -P shaanxi -o 学校数据模板.xlsx          填报模板 an input template
  edubalance rules --province anhui --year 2016
  edubalance test-packs                        运行规则包自带用例 run every pack's own cases
  edubalance plan schools.csv county.csv -o plan.xlsx   整改方案及费用 what it takes to pass, and its cost
"""

#: click's own help words, Chinese first.
HELP_HEADINGS = {"Options": "选项 Options", "Commands": "命令 Commands", "Arguments": "参数 Arguments"}
HELP_TEXT = "显示此帮助并退出 Show this message and exit."


class HelpFormatter(click.HelpFormatter):
    """click's help page with its headings in Chinese first."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法 Usage: " if prefix is None else prefix)

    def section(self, name: str):
        return super().section(HELP_HEADINGS.get(name, name))


class Context(click.Context):
    formatter_class = HelpFormatter


class ChineseHelp:
    """A command whose help page and help option speak Chinese first."""

    context_class: type[click.Context] = Context

    def get_help_option(self, ctx: click.Context):
        option = super().get_help_option(ctx)     # type: ignore[misc]
        if option is not None:
            option.help = HELP_TEXT
        return option


class Command(ChineseHelp, click.Command):
    pass


class Group(ChineseHelp, click.Group):
    command_class = Command

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """click's own errors (a missing argument, an unknown option, a bad value) in the
        program's words, Chinese first, with exit code 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.Abort:          # Ctrl-C: the shell's code for an interruption
            click.echo(INTERRUPTED_MESSAGE, err=True)
            sys.exit(INTERRUPTED)
        except click.UsageError as exc:
            if exc.ctx is not None:
                click.echo(exc.ctx.get_usage(), err=True)
                click.echo(f"帮助 Help: {exc.ctx.command_path} --help\n", err=True)
            fail(f"{usage_error_zh(exc)} {exc.format_message()}", exc.exit_code)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)



#: click's usage errors, most specific first, with what a user reads first.
USAGE_ERRORS_ZH = ((click.exceptions.NoSuchOption, "没有这个选项"), (click.exceptions.MissingParameter, "缺少参数"),
                   (click.BadParameter, "参数值无效"), (click.UsageError, "用法错误"))


def usage_error_zh(exc: click.UsageError) -> str:
    return next(zh for kind, zh in USAGE_ERRORS_ZH if isinstance(exc, kind))


def fail(message: str, code: int = 2) -> None:
    click.echo(f"edubalance: 错误 error: {message}", err=True)
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
        except InvalidInput as exc:
            fail(exc.problems[0].message if len(exc.problems) == 1 and not exc.problems[0].row else str(exc))
        except ValueError as exc:
            fail(str(exc))
    return wrapper


def make_evaluator(province=None, year=None, engine="auto", overrides=(), plugins=(), verdicts="all",
                   timings=None, province_conflicts="keep"):
    from .evaluator import Evaluator
    return Evaluator(province=province, year=year, engine=engine, overrides=overrides, plugins=plugins,
                     verdicts=verdicts, timings=timings, province_conflicts=province_conflicts)


def emit(content: str | bytes, output: str | None) -> None:
    """Text (any lone surrogate made U+FFFD) or bytes from :func:`serialise.dumps`, to the file or stdout."""
    from .serialise import clean_text
    data = content if isinstance(content, bytes) else clean_text(content).encode("utf-8")
    if output:
        from .output import OutputError, write_bytes
        try:
            write_bytes(data, output)
        except OutputError as exc:
            fail(str(exc))
        click.echo(f"已写入 written to {output}", err=True)
    else:
        click.echo(data, nl=not data.endswith(b"\n"))


def announce(loaded, files) -> None:
    """Say on stderr which sheets were read and what was done to whole files (ignored columns,
    converted units, skipped rows); refuse an input without a record (exit 2)."""
    for line in loaded.sheets:
        click.echo(f"edubalance: {line}", err=True)
    for p in loaded.notices:
        click.echo(f"edubalance: {p.file}: {p.code} {p.message}", err=True)
    if loaded.empty:
        from .loading import no_records_text
        zh, en = no_records_text((s.file, s.row) for s in loaded.skipped)
        fail(f"{', '.join(files)}: {zh} / {en}")


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


def _province(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``-P 贵州`` or ``-P Guizhou`` as the plug-in id, for every command."""
    from .regions import province_key
    return province_key(value) if value else value


def province_opt(help: str = "省份（插件名如 guizhou，或 贵州），用于没有写省份的记录；文件中的记录若写了别的省份则拒绝"
                                "（见 --force-province）。Province (plug-in id such as guizhou, or 贵州) for records "
                                "that name none; a file whose records name another province is refused (see "
                                "--force-province).") -> Callable:
    """``--province``/``-P`` (``贵州`` or ``guizhou``): what it does depends on the command."""
    return click.option("--province", "-P", metavar="ID", callback=_province, help=help)


force_province_opt = click.option("--force-province", is_flag=True,
                                  help="按 -P 的省份评估全部记录，包括写了别的省份的记录（会提示）。Judge every record "
                                       "under -P, even those that name another province (a note lists them).")


def conflicts_do(force_province: bool) -> str:
    """What a record naming another province than -P does on the command line."""
    return "force" if force_province else "refuse"


def _year(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """A year no record could have is a usage error (exit 2), never silently ignored."""
    if value is None:
        return value
    from .evaluator import check_year
    try:
        check_year(value)
    except InvalidInput as exc:
        raise click.BadParameter(exc.problems[0].message) from None
    return value


def year_opt(help: str = "按 YEAR 年有效的标准评估，而不是按每条记录自己的学年。Judge by the standards in force "
                            "in YEAR instead of each record's own 学年.") -> Callable:
    """``--year``/``-y``: a standards year, checked as a usage error."""
    return click.option("--year", "-y", type=int, metavar="YEAR", callback=_year, help=help)


plugin_opt = click.option("--plugin", "-p", "plugins", multiple=True, metavar="MODULE",
                          help="另外加载此插件模块（可重复）；设 EDUBALANCE_DISABLE_PLUGIN_AUTOLOAD=1 时只加载这些。"
                               "Load this plug-in module too (repeatable); with "
                               "EDUBALANCE_DISABLE_PLUGIN_AUTOLOAD=1 only these load.")
override_opt = click.option("--override", "overrides", multiple=True, type=click.Path(exists=True, dir_okay=False),
                            metavar="FILE", help="修订规则包的规则文件（如更正的阈值），可重复。A rule file that patches "
                                                 "a pack (e.g. a corrected threshold); repeatable.")
format_opt = click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table",
                          show_default=True, help="供人阅读用 table，供系统读取用 json。table for people, json for systems.")
report_format_opt = click.option("--format", "-f", "fmt", metavar="FORMAT", default=None,
                                 help="报告格式：table（默认）、json、xlsx、html、ndjson（每行一所学校或一个县）、parquet"
                                      "（表格文件夹）或插件提供的格式；不指定时按 -o 的后缀决定。Report format: table "
                                      "(default), json, xlsx, html, ndjson (one school or "
                                      "county a line), parquet (a folder of tables), or one a plug-in adds; "
                                      "without it, the suffix of -o decides (.json, .xlsx, .html, .ndjson, .parquet …).")
output_opt = click.option("--output", "-o", type=click.Path(), metavar="FILE",
                          help="把报告写入 FILE 而不是终端（parquet 为文件夹）。Write the report to FILE instead of "
                               "the terminal (for parquet: a folder).")


def engine_opt(help: str) -> Callable:
    """``--engine``: the rule back end a command judges with."""
    return click.option("--engine", "-e", type=click.Choice(["auto", "vector", "durable"]), default="auto",
                        show_default=True, help=help)


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


@click.group(cls=Group, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edubalance", help="显示版本并退出 Show the version and exit.")
@click.option("--limit", multiple=True, metavar="NAME=VALUE", callback=set_limits, expose_value=False,
              is_eager=True, help="输入限制（也可用环境变量 EDUBALANCE_MAX_…，见 README）An input limit: max_file_bytes, "
                                  "max_cell_chars, max_depth, max_yaml_aliases, max_xlsx_bytes, max_xlsx_ratio "
                                  "(also EDUBALANCE_MAX_…; see the README).")
def main() -> None:
    """按国家和省级义务教育均衡发展标准评估学校和县，并把结论合成一个得分。Judge
    compulsory-education schools and counties against national and provincial balanced-development
    standards, and merge the verdicts into one score.

    输入文件：CSV（UTF-8 或 GBK）、XLSX、XLS、JSON、NDJSON 或 YAML，每所学校每个学段一行（九年一贯制学校
    为小学、初中两行）；列名可用中文（学校标识码、学段、在校生数 …）或英文字段名。Input files: CSV, XLSX,
    XLS, JSON, NDJSON or YAML, one row per school record (a nine-year school is two rows); column
    headers may be the Chinese labels or the English field names.
    """


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@province_opt()
@force_province_opt
@plugin_opt
@format_opt
@output_opt
@friendly
def validate(files, province, force_province, plugins, fmt, output):
    """检查 FILES 是否符合数据字典和字段间规则，不作评估。Check FILES against the record
    schema and the cross-field rules, without judging.

    一次列出全部问题：文件、行、学校、字段（中文名）、实际值和应填内容；同一问题在多行出现时只列一次并注明行号。
    被拒的行都会列出，不会丢弃。有行被拒或有警告时退出码为 1。Every problem is listed once with the
    rows it covers, the field, the value found and what was expected. Exit 1 if any row is
    rejected or has a warning.
    """
    ev = make_evaluator(province=province, plugins=plugins, province_conflicts=conflicts_do(force_province))
    loaded = ev.load(files)
    announce(loaded, files)
    checked = ev.check(loaded)
    data = checked.to_dict()
    if fmt == "json":
        from .serialise import dumps
        emit(dumps(data, indent=True), output)
    else:
        from .problems import problem_lines
        from .render import county_records_line, records_line
        r, c = data["records"], data["counties"]
        lines = [records_line(r["read"], r["accepted"], "通过 accepted", r["rejected"], r["skipped"])]
        if checked.county_read:
            lines.append(county_records_line(c["read"], c["accepted"], c["rejected"]))
        if data["rejected"] or data["warnings"]:
            lines.append("问题 Problems:")
            lines += problem_lines(data["rejected"], data["warnings"])
        lines.extend(f"注意 Note: {note}" for note in checked.notes)
        if not data["rejected"] and not data["warnings"]:
            n = sum(1 for notice in checked.notices if notice.code != "W403")
            lines.append(f"未发现问题，但有 {n} 条关于整个文件的提示（已在标准错误输出中列出，如被忽略的列）。No problems found in "
                         f"any row, but {n} notice(s) about whole files (listed on standard error: columns ignored, "
                         f"say)." if n else "未发现问题。No problems found.")
        emit("\n".join(lines) + "\n", output)
    sys.exit(1 if data["rejected"] or data["warnings"] else 0)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@province_opt()
@force_province_opt
@year_opt()
@engine_opt("规则引擎：durable（durable-rules）或 vector（按列计算，用于大文件）；auto 在 200 条记录以内用 "
            "durable-rules。Rule back end: durable (durable-rules) or vector (columnar, for large files); "
            "auto uses durable-rules up to 200 records.")
@click.option("--verdicts", type=click.Choice(["all", "findings"]), default="all", show_default=True,
              help="每所学校列出每条规则的结论（all），或只列未达标和缺数据的（findings，计数、得分、经费和状态仍完整），"
                   "用于全国规模的文件。Per school, list every rule's verdict (all) or only the failed and "
                   "missing-data ones (findings; counts, scores, funding and status stay complete).")
@click.option("--timings", is_flag=True, help="在标准错误输出各阶段耗时（秒）。Print the seconds each stage took to stderr.")
@click.option("--schools-only", is_flag=True,
              help="只评估学校，不作县域评估（县级记录仍会校验）。Judge the schools only: no county judgement "
                   "(county records are still checked).")
@override_opt
@plugin_opt
@report_format_opt
@output_opt
@friendly
def evaluate(files, province, force_province, year, engine, verdicts, timings, schools_only, overrides, plugins, fmt, output):
    """评估 FILES 中的学校（和县级）记录。Judge the school (and county) records in FILES.

    县级记录（每县每年一行：政府保障、一票否决、满意度）可单独成文件，也可放在同一文件中、学校标识码留空。
    输出先列汇总，再列县、有问题的学校和被拒记录。County records may be in their own file or in the
    same file with an empty 学校标识码. Output leads with the summary, then counties, failing
    schools and rejected rows. A JSON report of more than 10,000 schools is written compact.
    """
    from time import perf_counter

    from .progress import STAGE_LABELS, ProgressBar
    start = perf_counter()
    times: dict[str, float] | None = {} if timings else None
    ev = make_evaluator(province, year, engine, overrides, plugins, verdicts, times, conflicts_do(force_province))
    if times is not None:
        times["setup"] = perf_counter() - start
    large = sum(Path(f).stat().st_size for f in files if Path(f).is_file()) >= READING_NOTICE_BYTES
    reading = ProgressBar(0, STAGE_LABELS["load"], min_total=0 if large else 1)    # its label alone, then gone
    try:
        loaded = ev.load(files)
    finally:
        reading.close()                     # before any message about the files
    announce(loaded, files)
    bar = ProgressBar(len(loaded.schools), STAGE_LABELS["validate"])
    ev.on_stage = bar.stage
    checked = ev.check_timed(loaded)
    for note in checked.notes if output or (fmt or "table") != "table" else ():   # the table shows them itself
        click.echo(f"注意 Note: {note}", err=True)
    del loaded
    report = ev.evaluate_checked(checked, list(files), bar, counties=not schools_only)
    del checked
    write_start = perf_counter()
    bar.stage("write", report.evaluated)
    emit_report(ev, report, fmt, output, bar)
    bar.close()
    if times is not None:
        times["write"] = perf_counter() - write_start
        times["total"] = perf_counter() - start
        click.echo("计时 timings (s): " + ", ".join(f"{k} {v:.3f}" for k, v in times.items()), err=True)
    sys.exit(report.exit_code)


@main.command()
@plugin_opt
@friendly
def plugins(plugins):
    """列出插件、其规则包（名称、版本）和实现的钩子；规则无法编译的规则包列出错误，退出码为 2。List the
    plug-ins, their rule packs (id, revision) and the hooks each implements; a pack whose rules do
    not compile is shown with its error, and the exit code is 2."""
    from .plugins import describe_plugins
    from .rulepack import uncompilable
    ev = make_evaluator(plugins=plugins)
    broken = uncompilable(ev.registry)      # listed as loaded, a pack must also compile
    by_plugin: dict[str, list[str]] = {}
    for pack in ev.registry.packs.values():
        by_plugin.setdefault(pack.plugin, []).append(
            f"{pack.id} {pack.revision}" + (f"（扩展 extends {pack.extends}）" if pack.extends else "")
            + (f"\n      错误 error: {broken[pack.id]}" if pack.id in broken else ""))
    for info in describe_plugins(ev.pm):
        click.echo(f"{info['name']}  {info['distribution']}".rstrip())
        for p in by_plugin.get(info["module"], []):
            click.echo(f"    规则包 pack: {p}")
        click.echo(f"    钩子 hooks: {', '.join(info['hooks']) or '—'}")
    if broken:
        sys.exit(2)


@main.command()
@province_opt("列出此省份（插件名或 贵州）的规则。List the rules of this province (plug-in id or "
              "贵州).")
@year_opt("列出 YEAR 年有效的规则。List the rules in force in YEAR.")
@override_opt
@plugin_opt
@format_opt
@friendly
def rules(province, year, overrides, plugins, fmt):
    """列出一个省及其基础规则包的规则：阈值、状态和出处。List the rules of a province and its
    base pack: threshold, status and source.

    加 --year 只列该年有效的规则（如 --province shaanxi --year 2016）；标 * 的阈值为暂定。With --year,
    only what was in force that year. A threshold marked * is provisional.
    """
    from .listing import rules_listing, render_rules
    ev = make_evaluator(overrides=overrides, plugins=plugins)
    targets = [province] if province else ev.provinces
    data = [rules_listing(ev, p, year) for p in targets]
    if fmt == "json":
        from .serialise import dumps
        emit(dumps(data, indent=True), None)
    else:
        click.echo("\n".join(render_rules(d) for d in data))


@main.command()
@click.argument("province", required=False)
@format_opt
@engine_opt("规则引擎 Rule back end (auto, vector, durable).")
@plugin_opt
@friendly
def demo(province, fmt, engine, plugins):
    """评估省级插件自带的示例县（默认 guizhou）。Evaluate the sample county shipped with a
    province plug-in (default: guizhou)."""
    ev = make_evaluator(engine=engine, plugins=plugins)
    demos: dict[str, list[str]] = {}
    for found in ev.pm.hook.edubalance_demo_data():
        demos.update(found or {})
    if not demos:
        fail("没有插件提供示例数据 / no plug-in ships demo data")
    province = province or ("guizhou" if "guizhou" in demos else sorted(demos)[0])
    if province not in demos:
        fail(f"没有 '{province}' 的示例（可选：{', '.join(sorted(demos))}）/ no demo for '{province}' "
             f"(available: {', '.join(sorted(demos))})")
    report = ev.evaluate_files(demos[province])
    if fmt == "table":
        click.echo(f"示例县 Demo: {province}（{', '.join(Path(p).name for p in demos[province])}）\n")
    emit_report(ev, report, fmt, None)


@main.command()
@province_opt("模板所针对的省份（插件名或 贵州）：只列出其规则需要的字段；不给则为全部省份。The province "
              "the template is for (plug-in id or 贵州): only the fields its rules need; all provinces if "
              "not given.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="要写出的模板（默认 学校数据模板.xlsx，--format csv 时为 .csv）。The template to write "
                   "(default 学校数据模板.xlsx, or .csv with --format csv).")
@click.option("--format", "-f", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True,
              help="一个工作簿（学校、县级、填表说明）用 xlsx，两个 CSV 文件用 csv。xlsx: one workbook (schools, "
                   "county, instructions); csv: two CSV files.")
@plugin_opt
@friendly
def template(province, output, fmt, plugins):
    """写出填报模板：该省规则需要的列，列名带单位。Write an input template: the columns the
    province's rules need, units in the headers.

    每个列名有批注说明填什么，学段、办学类型、城乡类型和是/否有下拉框，人数等须为不小于 0 的整数，另有县级数据表和
    填表说明。Every header has a comment saying what to enter; dropdowns for the enumerations;
    a county sheet and instructions.
    """
    from .rulepack import compile_ruleset
    from .template import write_template
    ev = make_evaluator(plugins=plugins)
    provinces = [province] if province else ev.provinces
    for p in provinces:
        if p not in ev.provinces:
            fail(f"没有省份 '{p}'（已加载：{', '.join(ev.provinces)}）/ no province '{p}' "
                 f"(loaded: {', '.join(ev.provinces)})")
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
@province_opt("省份（插件名或 贵州），用于没有写省份的记录；写了省份的记录按其自己的省份评估。Province "
              "(plug-in id or 贵州) for records that name none; records that name one keep it.")
@year_opt()
@engine_opt("规则引擎 Rule back end (auto, vector, durable).")
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
    """以 HTTP/JSON 服务提供评估（OpenAPI 3.1 见 /openapi.json，文档见 /docs）。Serve the evaluator
    over HTTP/JSON (OpenAPI 3.1 at /openapi.json, docs at /docs).

    规则包在启动时编译一次，评估在工作进程中运行；没有 --token-file 时只监听本机地址。The packs are
    compiled once at start; evaluations run in worker processes. Without --token-file the
    service listens only on a loopback address (unless told otherwise).
    """
    import gc

    from .service.auth import Tokens
    from .service.server import serve as run
    from .service.settings import Settings, default_workers

    gc.enable()         # a server runs for days (the installed command starts other commands without it)

    settings = Settings(province=province, year=year, engine=engine, overrides=tuple(overrides),
                        plugins=tuple(plugins), workers=workers or default_workers(),
                        max_body_bytes=int(max_body_mb * 1024 * 1024), max_records=max_records, timeout=timeout,
                        max_queue=max_queue)
    from .rulepack import uncompilable

    ev = make_evaluator(province, year, engine, overrides, plugins)       # bad packs or options: exit 2 now,
    for message in uncompilable(ev.registry).values():   # and rules that do not compile, not a 500 at a
        fail(message)                                    # province's first request
    run(settings, host, port, Tokens.from_file(token_file) if token_file else None, allow_unauthenticated)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@province_opt()
@force_province_opt
@year_opt()
@engine_opt("检验方案所用的规则引擎。Rule back end the plan is checked with.")
@click.option("--target", type=click.Choice(["quality", "basic"]), default="quality", show_default=True,
              help="县域目标：quality＝2017 年各项差异系数达标；basic＝2012 年综合差异系数达标。County goal: quality "
                   "= each 2017 CV under its limit; basic = the 2012 composite CV.")
@click.option("--costs", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="本地单价（YAML：项目: 元），代替规则包中的暂定价格。Local unit prices (YAML: item: yuan) instead "
                   "of the packs' provisional placeholders.")
@click.option("--near", type=float, default=0.05, show_default=True,
              help="方案后达标、但学生数增加这一比例就不达标的规则列为临界。A rule passing after the plan that would "
                   "fail with this share more pupils is listed as near-failing.")
@click.option("--apply", "apply_path", type=click.Path(exists=True, dir_okay=False), metavar="PLAN",
              help="把方案 PLAN（JSON）用于 FILES，调整后的记录写入 -o（CSV）。Apply the plan PLAN (JSON) to FILES "
                   "and write the adjusted records to -o (CSV).")
@click.option("--what-if", "what_if_path", type=click.Path(exists=True, dir_okay=False), metavar="CHANGES",
              help="把 CHANGES（YAML：add、move、merge、close）用于 FILES，记录写入 -o（CSV）。Apply CHANGES (YAML: "
                   "add, move, merge, close) to FILES and write the records to -o (CSV).")
@override_opt
@plugin_opt
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="方案文件 plan.json、plan.xlsx、plan.html（可打印）或 plan.txt；用 --apply 或 --what-if 时为调整后"
                   "的记录 adjusted.csv。The plan (plan.json, plan.xlsx, plan.html, printable, or plan.txt); with "
                   "--apply or --what-if, adjusted.csv.")
@friendly
def plan(files, province, force_province, year, engine, target, costs, near, apply_path, what_if_path, overrides,
         plugins, output):
    """整改方案：使每所学校和每个县达标的最少投入及其费用。The least additions that make each school
    and county pass, and what they cost.

    每所学校：其未达标规则所需的最少教师、教室、面积、图书、计算机和经费（规则共用输入，一并求解）。
    每个县和学段：使各差异系数降到限值以下的最少投入，先补生均最低的学校。
    方案会按调整后的记录重新评估来核验。整改后全部达标时退出码 0；仍有投入无法解决的问题（班额、缺数据等）时为 1。
    Per school: the least teachers, rooms, m², books, computers and yuan its failing rules need,
    solved together (rules share inputs). Per county and stage: the least additions that bring
    each CV under its limit, lowest per-pupil schools first. The plan is checked by judging the
    adjusted records again. Exit 0 when every school and county passes after the plan, 1 when
    something no addition fixes (class size, missing data…) remains.

    --apply PLAN -o adjusted.csv 写出按方案调整后的 FILES；
    --what-if CHANGES -o out.csv 写出手工调整（增加、调配或合并资源，撤并学校）后的记录，供 `edubalance evaluate` 评估。
    --apply PLAN -o adjusted.csv writes FILES with a plan applied; --what-if CHANGES -o out.csv writes them after
    hand-made changes (add, move or merge resources, close or merge a school), for `edubalance
    evaluate` to judge.
    """
    from .plan import excel, inputs, text, whatif
    ev = make_evaluator(province, year, engine, overrides, plugins, province_conflicts=conflicts_do(force_province))
    loaded = ev.load(files)
    announce(loaded, files)
    if apply_path or what_if_path:
        if apply_path and what_if_path:
            fail("--apply 与 --what-if 只能选一个 / --apply and --what-if are one at a time")
        if not output or Path(output).suffix.lower() != ".csv":
            fail("--apply、--what-if 需要 -o 指定 CSV 输出文件 / need -o FILE.csv for the adjusted records")
        checked = ev.validate_rows(loaded.schools)
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
    if suffix not in ("", ".json", ".xlsx", ".html", ".txt"):
        fail(f"-o {output}: 方案输出为 .json、.xlsx、.html 或 .txt（调整后的记录用 --apply）/ "
             f"a plan is written as .json, .xlsx, .html or .txt (adjusted records: --apply)")
    from .progress import ProgressBar
    bar = ProgressBar(len(loaded.schools), "整改方案 planning")        # drawn for a large file at a terminal
    try:
        document = ev.plan(files, target=target, costs=costs, near=near, loaded=loaded, progress=bar.stage)
    finally:
        bar.close()
    if not document["schools"] and not document["rejected"]:
        fail(f"{'、'.join(files)} 中没有学校记录（只有表头或没有数据行）/ no school records found in "
             f"{', '.join(files)} (only a header, or no rows)")
    from .reports.plan_words import rule_catalogues
    catalogues = rule_catalogues(ev, document)
    if suffix == ".xlsx":
        from .output import OutputError, write_to
        try:
            write_to(output, lambda path: excel.write_workbook(document, path, catalogues))
        except OutputError as exc:
            fail(str(exc))
        click.echo(f"方案已写入 plan written to {output}", err=True)
    elif suffix == ".html":
        from .output import OutputError, write_to
        from .reports.html import write_plan_html
        try:
            write_to(output, lambda path: write_plan_html(document, path, catalogues))
        except OutputError as exc:
            fail(str(exc))
        click.echo(f"方案已写入 plan written to {output}", err=True)
    elif suffix == ".json":
        from .serialise import dumps
        emit(dumps(document, indent=True), output)
    else:
        emit(text.render(document, catalogues), output)
    sys.exit(text.exit_code(document))


@main.command("test-packs")
@click.argument("provinces", nargs=-1)
@plugin_opt
@friendly
def test_packs(provinces, plugins):
    """运行每个规则包自带的用例（全部或指定的规则包）。Run the cases each rule pack carries beside
    its rules (all packs, or those named).

    每个用例是一条小记录及每条规则的预期结论；有用例失败，或某条规则缺少预期达标和预期不达标的用例时，退出码为 1。
    Fails (exit 1) if a case fails or if a rule has no case expecting pass and one expecting fail.
    """
    from .packtests import run_pack_cases
    ev = make_evaluator(plugins=plugins)
    ok = True
    for pack_id in provinces or sorted(ev.registry.packs):
        if pack_id not in ev.registry.packs:
            fail(f"没有规则包 '{pack_id}'（已加载：{', '.join(sorted(ev.registry.packs))}）/ no rule pack "
                 f"'{pack_id}' (loaded: {', '.join(sorted(ev.registry.packs))})")
        result = run_pack_cases(ev, pack_id)
        click.echo(result.render())
        ok = ok and result.ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":  # pragma: no cover
    from .console import run
    run(main)
