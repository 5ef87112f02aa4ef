"""Writing a report where the user asked: a format by name or by the output's suffix, and a
temporary file renamed into place on success, so a failed write never leaves half a report."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

#: Up to this many schools a JSON report is indented for people; above it, it is written
#: compact and streamed (a national file is GBs either way, and a third smaller compact).
JSON_INDENT_MAX = 10_000


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


def write_report(pm: Any, report: Any, fmt: str, output: str | None) -> None:
    """Render ``report`` through the plug-ins into ``output`` (standard output if None)."""
    if output is None:
        if not pm.hook.edubalance_render_report(report=report, fmt=fmt, path=None):
            raise OutputError(f"no plug-in writes the format '{fmt}'")
        return
    target = Path(output)
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"输出目录不存在 the folder of {output} does not exist")
    if target.exists() and not (target.is_file() or target.is_dir()):
        raise OutputError(f"{output} 不是普通文件 is not a regular file")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=folder)) / target.name
    except OSError as exc:
        raise OutputError(f"无法写入 cannot write to {folder}: {exc.strerror or exc}") from None
    try:
        if not pm.hook.edubalance_render_report(report=report, fmt=fmt, path=tmp):
            raise OutputError(f"no plug-in writes the format '{fmt}'")
        if target.is_dir() and tmp.is_dir():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputError(f"写出报告失败 writing the report to {output} failed: {exc.strerror or exc}") from None
    except RuntimeError as exc:                   # e.g. a render process killed
        raise OutputError(f"写出报告失败 writing the report to {output} failed: {exc}") from None
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)


def write_core_format(report: Any, fmt: str, path: Path | None) -> bool | None:
    """The core's own formats: ``table`` (for people) and ``json``."""
    if fmt == "table":
        data = report.render_table().encode("utf-8")
        if not data.endswith(b"\n"):
            data += b"\n"
        _write_bytes(data, path)
        return True
    if fmt == "json":
        indent = 2 if report.evaluated <= JSON_INDENT_MAX else None
        if path is None:
            sys.stdout.flush()
            stream = sys.stdout.buffer
            report.write_json(stream, indent=indent, progress=getattr(report, "progress", None))
            stream.write(b"\n")
            stream.flush()
        else:
            with open(path, "wb") as f:
                report.write_json(f, indent=indent, progress=getattr(report, "progress", None))
        return True
    return None


def _write_bytes(data: bytes, path: Path | None) -> None:
    if path is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        path.write_bytes(data)
