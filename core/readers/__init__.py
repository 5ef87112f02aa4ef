"""The core's file readers, one module per format, behind one ``edubalance_load_file`` hook.

The format of a file is decided once (:func:`edubalance.loading.detect_format`: its suffix,
corrected by what its first bytes are) and the file handed to the one reader registered for
that format in :data:`READERS`. A plug-in that reads another format implements the same hook
and answers first (the core's hook runs last).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..hookspecs import hookimpl
from ..loading import InputError, LoadedFile, detect_format
from . import csvfile, excel, jsonfile, ndjson, yamlfile

#: format → the function that reads a file of that format: ``read(name, fmt, default_province)``.
READERS: dict[str, Callable[[str, str, str | None], LoadedFile]] = {
    "csv": csvfile.read,
    "xlsx": excel.read,
    "xls": excel.read,
    "json": jsonfile.read,
    "ndjson": ndjson.read,
    "yaml": yamlfile.read,
}


def load_file(path: str | Path, default_province: str | None = None) -> LoadedFile:
    """Read ``path`` with the core's readers (what the ``edubalance_load_file`` hook does
    without plug-ins); raise :class:`~edubalance.loading.InputError` if it cannot be read."""
    name = str(path)
    fmt = detect_format(name)
    reader = READERS.get(fmt)
    if reader is None:
        raise InputError(name, "没有能读取此文件的读取器 / no reader for this file")
    return reader(name, fmt, default_province)


@hookimpl(trylast=True)
def edubalance_load_file(path, default_province):
    """Read a CSV, XLSX/XLS, JSON, NDJSON or YAML file into school and county frames."""
    return load_file(path, default_province)
