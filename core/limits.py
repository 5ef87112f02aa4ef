"""Resource limits on input files, so that no file can exhaust memory, time or the stack.

Each limit has a default and an environment setting (read when the process starts; the
command line's ``--limit NAME=VALUE`` sets the same values). Exceeding one is an
:class:`~edubalance.loading.InputError` — one message, exit code 2.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Mapping

MB = 1 << 20


@dataclass
class Limits:
    #: Largest input file read, in bytes (``EDUBALANCE_MAX_FILE_BYTES``).
    max_file_bytes: int = 2048 * MB
    #: Longest cell, in characters (``EDUBALANCE_MAX_CELL_CHARS``).
    max_cell_chars: int = 10_000
    #: Deepest nesting of arrays and objects in JSON, NDJSON and YAML (``EDUBALANCE_MAX_DEPTH``).
    max_depth: int = 64
    #: YAML aliases (``*name``) allowed in one data file (``EDUBALANCE_MAX_YAML_ALIASES``).
    max_yaml_aliases: int = 0
    #: Largest uncompressed size of an XLSX workbook, in bytes (``EDUBALANCE_MAX_XLSX_BYTES``).
    max_xlsx_bytes: int = 1024 * MB
    #: Largest ratio of uncompressed to compressed size in an XLSX workbook (``EDUBALANCE_MAX_XLSX_RATIO``).
    max_xlsx_ratio: int = 200


_TEXT = {
    "max_file_bytes": ("文件过大", "the file is larger than the limit of {limit} bytes ({value} bytes)"),
    "max_cell_chars": ("单元格内容过长", "a cell is longer than the limit of {limit} characters ({where})"),
    "max_depth": ("嵌套层数过深", "arrays and objects are nested deeper than the limit of {limit} levels"),
    "max_yaml_aliases": ("YAML 别名过多", "the file uses {value} YAML aliases (*name); the limit is {limit}"),
    "max_xlsx_bytes": ("工作簿解压后过大",
                       "the workbook unpacks to {value} bytes, more than the limit of {limit} bytes"),
    "max_xlsx_ratio": ("工作簿压缩比异常",
                       "the workbook unpacks to {value} times its size, more than the limit of {limit} "
                       "(a zip bomb?)"),
}


def env_name(name: str) -> str:
    return "EDUBALANCE_" + name.upper()


def limit_message(name: str, value: object = "", where: str = "") -> str:
    """The one message for a limit exceeded: Chinese first, the limit and how to raise it."""
    zh, en = _TEXT[name]
    limit = getattr(LIMITS, name)
    return (f"{zh}（上限 {limit}）/ " + en.format(limit=limit, value=value, where=where)
            + f"; raise it with --limit {name}=N or {env_name(name)}")


def from_environment(environ: Mapping[str, str] | None = None) -> Limits:
    """The defaults, with any ``EDUBALANCE_MAX_…`` setting applied."""
    settings = os.environ if environ is None else environ
    limits = Limits()
    for f in fields(Limits):
        raw = settings.get(env_name(f.name))
        if raw:
            set_limit(limits, f.name, raw)
    return limits


def set_limit(limits: Limits, name: str, raw: str) -> None:
    """Set one limit from text; ``ValueError`` with a clear message if it is not one."""
    if name not in {f.name for f in fields(Limits)}:
        raise ValueError(f"未知的限制 / unknown limit '{name}' (known: {', '.join(f.name for f in fields(Limits))})")
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"限制 {name} 应为整数 / limit {name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"限制 {name} 不能为负 / limit {name} cannot be negative")
    setattr(limits, name, value)


#: The limits in force in this process.
LIMITS = from_environment()
