"""Writing a report where the user asked: a format by name or by the output's suffix, and a
temporary file renamed into place on success, so a failed write never leaves half a report.

Every failure is an :class:`OutputError` (one message; the command exits 2). Only what this
run created is removed: the temporary file or folder, never the ``-o`` target as it was, and
never a device such as ``/dev/null`` (written to directly, as a stream).
"""
from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, overload

from .serialise import gc_paused

#: Up to this many schools a JSON report is indented for people; above it, it is written
#: compact and streamed (a national file is GBs either way, and a third smaller compact).
JSON_INDENT_MAX = 10_000

#: The core's formats: ``folder`` ones write a folder of files and cannot go to a stream.
CORE_FORMATS = {
    "table": {"suffixes": [".txt"], "title": {"zh": "文字报告", "en": "text report"}},
    "json": {"suffixes": [".json"], "title": {"zh": "JSON 报告", "en": "JSON report"}},
    "ndjson": {"suffixes": [".ndjson", ".jsonl"],
               "title": {"zh": "JSON 行（每行一所学校或一个县）", "en": "JSON lines, one school or county a line"}},
    "parquet": {"suffixes": [".parquet"], "folder": True,
                "title": {"zh": "Parquet 表格文件夹", "en": "a folder of Parquet tables"}},
}


class OutputError(Exception):
    """The report could not be written where asked; the message says where and why."""


def report_formats(pm: Any) -> dict[str, dict]:
    """Every format the plug-ins write, by name."""
    formats: dict[str, dict] = {}
    for found in pm.hook.edubalance_report_formats():
        formats.update(found or {})
    return formats


def format_for(pm: Any, fmt: str | None, output: str | None) -> str:
    """``fmt`` if given, else the format whose suffix ``output`` has, else ``table``."""
    formats = report_formats(pm)
    if fmt:
        if fmt not in formats:
            raise OutputError(f"未知的报告格式 unknown report format '{fmt}' "
                              f"(可选 choose from: {', '.join(sorted(formats))})")
        return fmt
    if output:
        suffix = Path(output).suffix.lower()
        for name, info in sorted(formats.items()):
            if suffix in info.get("suffixes", ()):
                return name
    return "table"


def write_report(pm: Any, report: Any, fmt: str, output: str | None, progress: Any = None) -> None:
    """Render ``report`` through the plug-ins into ``output`` (standard output if None);
    ``progress`` is told how many school entries are written. The cyclic collector is paused
    meanwhile, as while the report was made (:func:`serialise.gc_paused`)."""
    def render(path: Path | None) -> None:
        if not pm.hook.edubalance_render_report(report=report, fmt=fmt, path=path, progress=progress):
            raise OutputError(f"没有插件生成 '{fmt}' 格式 no plug-in writes the format '{fmt}'")
    folder = report_formats(pm).get(fmt, {}).get("folder", False)
    with gc_paused():
        write_to(output, render, folder)


def write_bytes(data: bytes, output: str | None) -> None:
    """``data`` into ``output`` (standard output if None), with the same safety as a report."""
    write_to(output, lambda path: _write_bytes(data, path))


@overload
def write_to(output: str, render: Callable[[Path], object], folder: bool = False) -> None: ...
@overload
def write_to(output: str | None, render: Callable[[Path | None], object], folder: bool = False) -> None: ...
def write_to(output: str | None, render: Callable[[Any], object], folder: bool = False) -> None:
    """Call ``render`` with a temporary path next to ``output`` and rename it into place, or
    with None (standard output), or with ``output`` itself when that is a device or a pipe
    (so ``render`` is given a path whenever ``output`` is one).
    ``folder``: ``render`` makes a folder, which replaces only an earlier report's folder."""
    if output is None:
        return _failing_as_output_error("standard output", render, None)
    target = Path(output)
    where = target.parent
    if not where.is_dir():
        raise OutputError(f"输出目录不存在 the folder of {output} does not exist")
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"无法写入 cannot write to {output}: {exc.strerror or exc}") from None
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)) and not folder:
        return _failing_as_output_error(output, render, target)
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise OutputError(f"{output} 不是普通文件 is not a regular file")
    if mode is not None and stat.S_ISDIR(mode) and not (folder and _earlier_report(target)):
        raise OutputError(f"{output} 是已有的文件夹 is a folder" + (" that is not a Parquet report; "
                          "choose a new name" if folder else ""))
    if mode is not None and stat.S_ISREG(mode) and folder:
        raise OutputError(f"{output} 是已有的文件 is a file; a Parquet report is a folder: choose a new name")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=where)) / target.name
    except OSError as exc:
        raise OutputError(f"无法写入 cannot write to {where}: {exc.strerror or exc}") from None
    try:
        _failing_as_output_error(output, render, tmp)
        try:
            if mode is not None and stat.S_ISDIR(mode):
                os.replace(target, tmp.parent / ".old")      # the earlier report, removed below
            os.replace(tmp, target)
        except OSError as exc:
            raise OutputError(f"写出报告失败 writing the report to {output} failed: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)


def _failing_as_output_error(output: str, render: Callable[[Any], object], path: Path | None) -> None:
    try:
        render(path)
    except OSError as exc:
        raise OutputError(f"写出报告失败 writing the report to {output} failed: {exc.strerror or exc}") from None
    except RuntimeError as exc:
        raise OutputError(f"写出报告失败 writing the report to {output} failed: {exc}") from None


def _earlier_report(folder: Path) -> bool:
    """Whether ``folder`` holds only Parquet files (an earlier report, safe to replace)."""
    return all(p.is_file() and p.suffix == ".parquet" for p in folder.iterdir())


def write_core_format(report: Any, fmt: str, path: Path | None, progress: Any = None) -> bool | None:
    """The core's own formats: ``table`` (for people), ``json``, ``ndjson`` and ``parquet``."""
    if fmt == "table":
        from .render import render_table
        from .serialise import clean_text
        data = clean_text(render_table(report)).encode("utf-8")
        _write_bytes(data if data.endswith(b"\n") else data + b"\n", path)
    elif fmt == "json":
        indent = report.evaluated <= JSON_INDENT_MAX
        _write_stream(path, lambda f: report.write_json(f, indent=indent, progress=progress), newline=True)
    elif fmt == "ndjson":
        _write_stream(path, lambda f: report.write_ndjson(f, progress=progress))
    elif fmt == "parquet":
        if path is None:
            raise ValueError("Parquet 报告是一个文件夹，不能写到终端 a Parquet report is a folder of files "
                             "and cannot go to standard output: name it with -o, e.g. -o report.parquet")
        from .parquet import write_parquet
        write_parquet(report, path, progress)
    else:
        return None
    return True


def _write_stream(path: Path | None, write: Callable[[BinaryIO], object], newline: bool = False) -> None:
    if path is None:
        sys.stdout.flush()
        stream = sys.stdout.buffer
        write(stream)
        if newline:
            stream.write(b"\n")
        stream.flush()
    else:
        with open(path, "wb") as f:
            write(f)


def _write_bytes(data: bytes, path: Path | None) -> None:
    _write_stream(path, lambda f: f.write(data))
